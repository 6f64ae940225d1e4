package server_test

import (
	"io"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

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

func readBody(re *azcore.ResponseError) (string, error) {
	b, err := io.ReadAll(re.RawResponse.Body)
	return string(b), err
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
