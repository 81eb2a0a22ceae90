//! Prints the `KluctlDeployment` CustomResourceDefinition generated from `shared::crd`; its
//! output is committed as `agent/config/crd.yaml` and a test fails when the two differ.

fn main() {
    print!("{}", shared::crd::crd_yaml());
}
