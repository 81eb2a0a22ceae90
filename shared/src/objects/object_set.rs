//! [`ObjectSet`]: the rendered objects of a project, grouped per deployment item in deployment
//! order (and Kustomize order inside an item), with lookups by [`ObjectRef`] and duplicate
//! detection. The output of the render stage; the input of diff and deploy.

use super::ObjectRef;
use serde_json::Value;
use std::collections::HashMap;

/// The objects of one deployment item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemObjects {
    /// Index of the item in `LoadedProject::items`.
    pub item: usize,
    /// The objects, in the order Kustomize produced them.
    pub objects: Vec<Value>,
}

/// The same object rendered twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateObject {
    /// The object (version left out: two versions of one object are still one object).
    pub object: ObjectRef,
    /// The item that rendered it first.
    pub first_item: usize,
    /// The item that rendered it again (may equal `first_item`).
    pub second_item: usize,
}

/// Objects per item, in deployment order, each object present once.
#[derive(Clone, Debug, Default)]
pub struct ObjectSet {
    items: Vec<ItemObjects>,
    /// Version-less ref -> (position in `items`, position in that item's objects).
    index: HashMap<ObjectRef, (usize, usize)>,
}

/// The identity of an object regardless of its API version.
fn key(r: &ObjectRef) -> ObjectRef {
    ObjectRef {
        version: String::new(),
        ..r.clone()
    }
}

impl ObjectSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the objects of `item` (after the items added before). Fails on the first object
    /// that is already in the set; objects without kind or name are kept but not indexed.
    pub fn push_item(&mut self, item: usize, objects: Vec<Value>) -> Result<(), Box<DuplicateObject>> {
        let position = self.items.len();
        let mut added: HashMap<ObjectRef, (usize, usize)> = HashMap::new();
        for (i, object) in objects.iter().enumerate() {
            let Some(r) = ObjectRef::from_object(object) else {
                continue;
            };
            let k = key(&r);
            let first = match (self.index.get(&k), added.contains_key(&k)) {
                (Some((first, _)), _) => Some(self.items[*first].item),
                (None, true) => Some(item),
                (None, false) => None,
            };
            if let Some(first_item) = first {
                return Err(Box::new(DuplicateObject {
                    object: k,
                    first_item,
                    second_item: item,
                }));
            }
            added.insert(k, (position, i));
        }
        self.index.extend(added);
        self.items.push(ItemObjects { item, objects });
        Ok(())
    }

    /// The objects of every item, in deployment order.
    pub fn items(&self) -> &[ItemObjects] {
        &self.items
    }

    /// Every object with the index of its item, in deployment order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Value)> {
        self.items
            .iter()
            .flat_map(|group| group.objects.iter().map(move |o| (group.item, o)))
    }

    /// The number of objects.
    pub fn len(&self) -> usize {
        self.items.iter().map(|g| g.objects.len()).sum()
    }

    /// True when there are no objects.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The object `r` refers to (any API version).
    pub fn get(&self, r: &ObjectRef) -> Option<&Value> {
        let (group, i) = self.index.get(&key(r))?;
        self.items[*group].objects.get(*i)
    }

    /// The index of the item that rendered `r`.
    pub fn item_of(&self, r: &ObjectRef) -> Option<usize> {
        self.index.get(&key(r)).map(|(group, _)| self.items[*group].item)
    }

    /// The refs of all objects, in deployment order.
    pub fn refs(&self) -> Vec<ObjectRef> {
        self.iter().filter_map(|(_, o)| ObjectRef::from_object(o)).collect()
    }

    /// Every object as one multi-document YAML stream, in deployment order.
    pub fn to_yaml_stream(&self) -> String {
        crate::yaml::to_yaml_stream(self.iter().map(|(_, o)| o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, ns: &str, version: &str) -> Value {
        json!({"apiVersion": version, "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}})
    }

    #[test]
    fn keeps_deployment_order_and_finds_objects_by_ref() {
        let mut set = ObjectSet::new();
        set.push_item(3, vec![cm("a", "x", "v1"), cm("b", "x", "v1")]).unwrap();
        set.push_item(5, vec![cm("c", "y", "v1")]).unwrap();
        let names: Vec<_> = set.iter().map(|(i, o)| (i, o["metadata"]["name"].clone())).collect();
        assert_eq!(names, vec![(3, json!("a")), (3, json!("b")), (5, json!("c"))]);
        let r = ObjectRef::from_object(&cm("c", "y", "v2")).unwrap();
        assert_eq!(set.item_of(&r), Some(5));
        assert_eq!(set.get(&r).unwrap()["metadata"]["name"], "c");
        assert_eq!(set.len(), 3);
        assert!(set.to_yaml_stream().contains("---\n"));
    }

    #[test]
    fn the_same_object_twice_is_a_duplicate_whatever_its_version() {
        let mut set = ObjectSet::new();
        set.push_item(0, vec![cm("a", "x", "v1")]).unwrap();
        let dup = set.push_item(1, vec![cm("a", "x", "v2")]).unwrap_err();
        assert_eq!((dup.first_item, dup.second_item), (0, 1));
        assert_eq!(dup.object.to_string(), "x/ConfigMap/a");
        let dup = ObjectSet::new()
            .push_item(4, vec![cm("a", "x", "v1"), cm("a", "x", "v1")])
            .unwrap_err();
        assert_eq!((dup.first_item, dup.second_item), (4, 4));
        assert!(set.push_item(2, vec![cm("a", "other", "v1")]).is_ok());
    }
}
