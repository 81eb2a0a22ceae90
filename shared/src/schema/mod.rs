//! Type information of Kubernetes kinds (list and map strategies, patch merge keys), built-in and from CRD schemas.
