//! Authentication and authorization: bearer tokens mapped to users and groups ([`Authenticator`]),
//! impersonation headers, and the RBAC authorizer ([`rbac`]) with kube-apiserver's 403 wording.

pub mod rbac;
pub mod reviews;

use rand::RngExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use super::errors::ApiError;

/// Group every authenticated user is in.
pub const AUTHENTICATED: &str = "system:authenticated";
/// Superuser group: always allowed, RBAC or not.
pub const MASTERS: &str = "system:masters";
/// Name of the admin user in the generated kubeconfig.
pub const ADMIN_USER: &str = "admin";

/// Who is making a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// User name (`admin`, `system:serviceaccount:ns:name`).
    pub name: String,
    /// UID, when known.
    pub uid: String,
    /// Groups, including `system:authenticated`.
    pub groups: Vec<String>,
    /// Extra attributes (from impersonation headers).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with the groups a real server adds: `system:authenticated`, plus the service-account
    /// groups for `system:serviceaccount:<ns>:<name>` users.
    pub fn new(name: &str, groups: &[&str]) -> Self {
        let mut all: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        if let Some(rest) = name.strip_prefix("system:serviceaccount:")
            && let Some((namespace, _)) = rest.split_once(':')
        {
            for group in [
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
            ] {
                if !all.contains(&group) {
                    all.push(group);
                }
            }
        }
        if name != "system:anonymous" && !all.iter().any(|g| g == AUTHENTICATED) {
            all.push(AUTHENTICATED.to_string());
        }
        UserInfo {
            name: name.to_string(),
            uid: String::new(),
            groups: all,
            extra: BTreeMap::new(),
        }
    }

    /// True when in `system:masters`.
    pub fn is_superuser(&self) -> bool {
        self.groups.iter().any(|g| g == MASTERS)
    }

    /// The internal identity of the server's own controllers.
    pub fn system() -> Self {
        UserInfo::new("system:kube-controller-manager", &[MASTERS])
    }
}

/// Maps bearer tokens to users.
pub struct Authenticator {
    tokens: RwLock<HashMap<String, UserInfo>>,
    admin_token: String,
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl Authenticator {
    /// An authenticator knowing only the admin token.
    pub fn new() -> Self {
        let admin_token = random_token();
        let mut tokens = HashMap::new();
        tokens.insert(admin_token.clone(), UserInfo::new(ADMIN_USER, &[MASTERS]));
        Authenticator {
            tokens: RwLock::new(tokens),
            admin_token,
        }
    }

    /// The admin's token (written into the kubeconfig).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Mints a token for a user in the given groups (service-account and `system:authenticated`
    /// groups are added as a real server does).
    pub fn mint(&self, user: &str, groups: &[&str]) -> String {
        let token = random_token();
        self.tokens
            .write()
            .expect("token table lock poisoned")
            .insert(token.clone(), UserInfo::new(user, groups));
        token
    }

    /// The user of an `Authorization: Bearer <token>` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<UserInfo, ApiError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        self.tokens
            .read()
            .expect("token table lock poisoned")
            .get(token)
            .cloned()
            .ok_or_else(ApiError::unauthorized)
    }
}

fn random_token() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The identity requested by `Impersonate-*` headers, before it is authorized.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImpersonationRequest {
    /// `Impersonate-User`
    pub user: Option<String>,
    /// `Impersonate-Group` (repeatable)
    pub groups: Vec<String>,
    /// `Impersonate-Uid`
    pub uid: Option<String>,
    /// `Impersonate-Extra-<key>`
    pub extra: BTreeMap<String, Vec<String>>,
}

impl ImpersonationRequest {
    /// Reads the impersonation headers; `None` when there are none.
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Option<Self>, ApiError> {
        let mut request = ImpersonationRequest::default();
        let mut any = false;
        for (name, value) in headers {
            let name = name.as_str();
            let Ok(value) = value.to_str() else { continue };
            if name.eq_ignore_ascii_case("impersonate-user") {
                request.user = Some(value.to_string());
                any = true;
            } else if name.eq_ignore_ascii_case("impersonate-group") {
                request.groups.push(value.to_string());
                any = true;
            } else if name.eq_ignore_ascii_case("impersonate-uid") {
                request.uid = Some(value.to_string());
                any = true;
            } else if let Some(key) = name.strip_prefix("impersonate-extra-") {
                let key = url::form_urlencoded::parse(key.as_bytes())
                    .map(|(k, v)| {
                        if v.is_empty() {
                            k.into_owned()
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect::<String>();
                request.extra.entry(key).or_default().push(value.to_string());
                any = true;
            }
        }
        if !any {
            return Ok(None);
        }
        if request.user.is_none() {
            return Err(ApiError::bad_request(
                "requested [{Impersonate-Group ...}] without impersonating a user",
            ));
        }
        Ok(Some(request))
    }

    /// The user as a real server builds it: service-account users without groups get their
    /// service-account groups, and everyone gets `system:authenticated`.
    pub fn to_user(&self) -> UserInfo {
        let name = self.user.clone().unwrap_or_default();
        let groups: Vec<&str> = self.groups.iter().map(String::as_str).collect();
        let mut user = if groups.is_empty() {
            UserInfo::new(&name, &[])
        } else {
            let mut user = UserInfo::new("", &groups);
            user.name = name;
            user
        };
        user.uid = self.uid.clone().unwrap_or_default();
        user.extra = self.extra.clone();
        user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_to_users_with_implicit_groups() {
        let auth = Authenticator::new();
        let admin = auth
            .authenticate(Some(&format!("Bearer {}", auth.admin_token())))
            .unwrap();
        assert!(admin.is_superuser());
        let token = auth.mint("system:serviceaccount:team:deployer", &[]);
        let sa = auth.authenticate(Some(&format!("Bearer {token}"))).unwrap();
        assert!(sa.groups.contains(&"system:serviceaccounts:team".to_string()));
        assert!(sa.groups.contains(&AUTHENTICATED.to_string()));
        assert_eq!(auth.authenticate(Some("Bearer nope")).unwrap_err().code, 401);
        assert_eq!(auth.authenticate(None).unwrap_err().code, 401);
    }

    #[test]
    fn impersonation_headers_build_the_impersonated_user() {
        let mut headers = http::HeaderMap::new();
        headers.insert("Impersonate-User", "system:serviceaccount:ns:sa".parse().unwrap());
        let request = ImpersonationRequest::from_headers(&headers).unwrap().unwrap();
        let user = request.to_user();
        assert_eq!(user.name, "system:serviceaccount:ns:sa");
        assert!(user.groups.contains(&"system:serviceaccounts:ns".to_string()));
        headers.append("Impersonate-Group", "devs".parse().unwrap());
        let user = ImpersonationRequest::from_headers(&headers).unwrap().unwrap().to_user();
        assert_eq!(user.groups, vec!["devs".to_string(), AUTHENTICATED.to_string()]);
        let mut only_group = http::HeaderMap::new();
        only_group.insert("Impersonate-Group", "devs".parse().unwrap());
        assert!(ImpersonationRequest::from_headers(&only_group).is_err());
    }
}
