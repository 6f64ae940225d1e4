package server_test

import (
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/coffer/coffer/internal/testenv"
)

func port(st *testenv.Stack) string {
	u, _ := url.Parse(st.Server.URL())
	return u.Port()
}

func tokenScope(resource string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{resource + "/.default"}}
}
