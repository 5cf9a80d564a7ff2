package accounts

import (
	_ "embed"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// The rules a new password must pass, after NIST SP 800-63B §5.1.1.2 (memorized secret
// verifiers): at least MinPasswordLength characters, at most MaxPasswordBytes bytes, not on
// a list of commonly used or breached passwords, and not a context-specific word — here the
// account's e-mail address or its local part. No composition rules (digits, symbols), which
// the same section advises against.
var (
	// ErrPasswordTooShort is returned for a password of fewer than MinPasswordLength characters.
	ErrPasswordTooShort = errors.New("accounts: password shorter than 8 characters")
	// ErrPasswordTooLong is returned for a password over MaxPasswordBytes bytes: bcrypt reads
	// only the first 72, so anything after them would be silently ignored.
	ErrPasswordTooLong = errors.New("accounts: password longer than 72 bytes")
	// ErrPasswordCommon is returned for a password on the list of the 10,000 most common
	// (compared without regard to case).
	ErrPasswordCommon = errors.New("accounts: password is among the 10,000 most common")
	// ErrPasswordIsEmail is returned for a password equal to the account's e-mail address or
	// to its local part (the part before the @), compared without regard to case.
	ErrPasswordIsEmail = errors.New("accounts: password is the e-mail address")
)

// CommonPasswordCount is the number of passwords on the embedded list.
const CommonPasswordCount = 10_000

// commonPasswordList is SecLists' "10-million-password-list-top-10000" (MIT, Daniel
// Miessler; see commonpasswords/README.md and LICENSE), one password a line.
//
//go:embed commonpasswords/10-million-password-list-top-10000_ALPHABETIZED.txt
var commonPasswordList string

// commonPasswords is the list as a set of lower-case passwords, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, CommonPasswordCount)
	for line := range strings.Lines(commonPasswordList) {
		if p := strings.TrimRight(line, "\r\n"); p != "" {
			set[strings.ToLower(p)] = struct{}{}
		}
	}
	return set
})

// CheckPassword returns nil when password may be set for the account email, else one of
// ErrPasswordTooShort, ErrPasswordTooLong, ErrPasswordCommon or ErrPasswordIsEmail (the first
// rule broken, in that order). Length counts characters (Unicode code points) for the minimum
// and bytes of UTF-8 for the maximum.
func CheckPassword(email, password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return ErrPasswordTooShort
	case len(password) > MaxPasswordBytes:
		return ErrPasswordTooLong
	}
	lower := strings.ToLower(password)
	if _, ok := commonPasswords()[lower]; ok {
		return ErrPasswordCommon
	}
	email = NormalizeEmail(email)
	local, _, _ := strings.Cut(email, "@")
	if lower == email || (local != "" && lower == local) {
		return ErrPasswordIsEmail
	}
	return nil
}
