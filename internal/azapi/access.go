package azapi

// Access returns the access-policy permission and the RBAC data action the data plane
// requires for operation op (its audit name, e.g. "PurgeDeletedSecret"), so that another
// surface acting on the same domain (the browser console) can be checked to decide
// exactly as the data plane does.
func Access(op string) (perm, action string, ok bool) {
	for _, rt := range routes {
		if rt.op == op {
			return rt.perm, rt.action, true
		}
	}
	return "", "", false
}
