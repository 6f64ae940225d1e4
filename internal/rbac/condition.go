package rbac

import (
	"regexp"
	"strings"
)

// Coffer evaluates one form of ABAC condition, the one Azure's built-in roles carry
// (Key Vault Data Access Administrator): clauses
//
//	(!(ActionMatches{'A'})) OR (@Request[…:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{g1, g2, …})
//
// joined by AND. Such a clause lets action A only when the role assignment it writes
// (@Request) or deletes (@Resource) names one of the listed role definitions; it says
// nothing about other actions. A condition of any other form fails closed: the
// permission grants nothing.

var (
	conditionClause = regexp.MustCompile(`(?i)\(\s*!\s*\(\s*ActionMatches\{'([^']+)'\}\s*\)\s*\)\s*OR\s*\(\s*@(?:Request|Resource)\[[^\]]*:RoleDefinitionId\]\s*ForAnyOfAnyValues:GuidEquals\{([^}]*)\}\s*\)`)
	conditionAnd    = regexp.MustCompile(`(?i)^[\s()]*(?:AND[\s()]*)*$`)
)

// conditionAllows reports whether condition lets req through.
func conditionAllows(condition string, req Request) bool {
	if strings.TrimSpace(condition) == "" {
		return true
	}
	clauses := conditionClause.FindAllStringSubmatchIndex(condition, -1)
	if len(clauses) == 0 || !conditionAnd.MatchString(conditionClause.ReplaceAllString(condition, "")) {
		return false // not the form Coffer understands
	}
	for _, c := range clauses {
		action, ids := condition[c[2]:c[3]], condition[c[4]:c[5]]
		if !Match(action, req.Action) {
			continue
		}
		ok := false
		for _, id := range strings.Split(ids, ",") {
			if req.RoleDefinitionID != "" && strings.EqualFold(strings.TrimSpace(id), req.RoleDefinitionID) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
