// Package allowlist turns an operator's list of permitted load targets into the block lists k6
// understands, so that a shared worker cannot be aimed anywhere else.
//
// k6 only has block lists: blockHostnames (name patterns) and blacklistIPs (CIDRs). It checks the
// address it is about to dial against blacklistIPs after every name resolution (its own DNS lookup
// or the script's "hosts" option), on each new connection. An allow-list is therefore enforced as an
// IP block list: the complement of the allowed ranges, for IPv4 and IPv6 (Complement). Hostnames in
// the list are resolved when a run starts and their addresses are allowed (List.Blocked); a name
// that later resolves elsewhere (DNS rebinding, a changed record) hits a blocked address and fails.
// Wildcard names are refused: they name no fixed set of addresses, so they cannot be enforced this way.
//
// Everything here is safe for concurrent use: a List is immutable after Parse.
package allowlist
