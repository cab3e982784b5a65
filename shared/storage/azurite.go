package storage

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// LoopbackHosts are the hosts CheckLocalAzurite accepts by default.
var LoopbackHosts = []string{"127.0.0.1", "localhost", "::1"}

// CheckLocalAzurite reports whether connString is Azurite's development
// account with every endpoint on one of hosts: what dev mode requires, so
// that a configuration pointing at a real account (which never has that
// key, nor endpoints on those hosts) can never run in dev mode.
func CheckLocalAzurite(connString string, hosts []string) error {
	fields := map[string]string{}
	for _, part := range strings.Split(connString, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[strings.ToLower(k)] = v
		}
	}
	if fields["accountname"] != AzuriteAccountName || fields["accountkey"] != AzuriteAccountKey {
		return fmt.Errorf("storage is not Azurite's development account %s", AzuriteAccountName)
	}
	endpoints := 0
	for _, k := range []string{"blobendpoint", "queueendpoint", "tableendpoint"} {
		v, ok := fields[k]
		if !ok {
			continue
		}
		endpoints++
		u, err := url.Parse(v)
		if err != nil || !slices.Contains(hosts, u.Hostname()) {
			return fmt.Errorf("storage endpoint %q is not on %s", v, strings.Join(hosts, ", "))
		}
	}
	if endpoints == 0 {
		return fmt.Errorf("storage names no endpoints, so it is an account in Azure, not a local Azurite")
	}
	return nil
}
