package storage

import "unicode/utf8"

// UTF16Len is the length of s in UTF-16 code units, the unit Azure Table
// Storage counts string properties in (a property holds at most 32 K of
// them, 64 KiB): one per character, two for characters outside the Basic
// Multilingual Plane. Bytes that are not UTF-8 count one each.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 && r != utf8.RuneError {
			n += 2
		} else {
			n++
		}
	}
	return n
}
