// Package snapshot writes and reads the last-known-good snapshot file: the slim data clusterdns
// serves, kept on disk so that a CoreDNS restarted while the Kubernetes API server is down can
// still answer. It encodes the model, not API objects, so a file of 10,000 services with 110,000
// endpoints is about a megabyte and reads in about 12 ms.
//
// The format (version 2), all integers unsigned varints unless said otherwise:
//
//	magic "clusterdns-snapshot", version byte 2
//	meta: cluster (string), written (time)
//	string table: count, then each string; namespaces, port names, protocols, endpoint zones and label keys and
//	  values are written once here and referred to by index everywhere else
//	port list table: count, then each list: count, then per port name index, protocol index, number
//	namespaces, services, endpoint slices, pods: each a count, then the objects (see encode.go)
//	CRC-32C (Castagnoli) of everything before it, 4 bytes big-endian
//
// A string is its length then its bytes; a time is a signed varint of Unix seconds then
// nanoseconds; an address is its length (0, 4 or 16) then its bytes. A port list reference is 0 for
// none, else the table index plus one.
//
// Read refuses, with an error wrapping ErrCorrupt, a file with a wrong magic, another version, a
// checksum mismatch, a count or length larger than the bytes left can hold, an index out of its
// table, an unknown flag or address length, or bytes after the last object.
package snapshot
