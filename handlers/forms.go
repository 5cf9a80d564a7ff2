package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/orders"
)

// maxFormBytes bounds a form body; a larger one gets 413.
const maxFormBytes = 1 << 20

// parseForm reads the request's url-encoded body: at most maxFormBytes (413 beyond), well
// formed (400 otherwise), and every value valid UTF-8 (400 otherwise).
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &clientError{http.StatusRequestEntityTooLarge, "That form was larger than 1 MiB, so the shop refused it."}
		}
		return nil, badRequest("The form could not be read.")
	}
	for name, values := range r.PostForm {
		for _, v := range values {
			if !validText(name) || !validText(v) {
				return nil, badRequest("The form holds characters that are not text (invalid UTF-8 or control characters). Please type it again.")
			}
		}
	}
	return r.PostForm, nil
}

// fieldErrors maps a form field to the message shown next to it.
type fieldErrors map[string]string

func (fe fieldErrors) add(field, msg string) {
	if _, ok := fe[field]; !ok {
		fe[field] = msg
	}
}

// checkLength records a message when value is empty (and required) or longer than max characters.
func (fe fieldErrors) checkLength(field, label, value string, required bool, max int) {
	n := utf8.RuneCountInString(value)
	switch {
	case required && strings.TrimSpace(value) == "":
		fe.add(field, label+" is required.")
	case required && strings.ContainsAny(value, "\r\n\t"):
		fe.add(field, label+" must be on one line.")
	case n > max:
		fe.add(field, fmt.Sprintf("%s can be at most %d characters (this is %d).", label, max, n))
	}
}

func (fe fieldErrors) checkEmail(value string) {
	fe.checkLength("email", "E-mail", value, true, accounts.MaxEmailLength)
	if _, ok := fe["email"]; ok {
		return
	}
	addr, err := mail.ParseAddress(value)
	if err != nil || addr.Address != strings.TrimSpace(value) {
		fe.add("email", "Enter an e-mail address like name@example.com.")
	}
}

// checkPassword records why a new password for the account email is refused, if it is
// (accounts.CheckPassword's rules: NIST SP 800-63B §5.1.1.2, and bcrypt's 72 bytes).
func (fe fieldErrors) checkPassword(field, email, value string) {
	switch err := accounts.CheckPassword(email, value); {
	case errors.Is(err, accounts.ErrPasswordTooShort):
		fe.add(field, fmt.Sprintf("Use at least %d characters.", accounts.MinPasswordLength))
	case errors.Is(err, accounts.ErrPasswordTooLong):
		fe.add(field, fmt.Sprintf("Use at most %d bytes (%d plain letters; accented letters count two): "+
			"the shop keeps passwords with bcrypt, which reads only the first %d bytes.", accounts.MaxPasswordBytes, accounts.MaxPasswordBytes, accounts.MaxPasswordBytes))
	case errors.Is(err, accounts.ErrPasswordCommon):
		fe.add(field, "That password is among the 10,000 most common ones, which attackers try first. "+
			"Choose another: a few unrelated words make a strong one that is easy to remember.")
	case errors.Is(err, accounts.ErrPasswordIsEmail):
		fe.add(field, "Your password can't be your e-mail address or the part before the @. Choose another.")
	}
}

// registerForm is the sign-up form. Password is never sent back to the page.
type registerForm struct {
	Email, Name, Password string
	Errors                fieldErrors
}

func (f *registerForm) validate() bool {
	f.Errors = fieldErrors{}
	f.Errors.checkEmail(f.Email)
	f.Errors.checkLength("name", "Name", f.Name, true, accounts.MaxNameLength)
	f.Errors.checkPassword("password", f.Email, f.Password)
	return len(f.Errors) == 0
}

// loginForm is the sign-in form.
type loginForm struct {
	Email, Password string
	Next            string // where to go after signing in; a local path
	Errors          fieldErrors
	Problem         string // a message for the whole form
}

func (f *loginForm) validate() bool {
	f.Errors = fieldErrors{}
	f.Errors.checkLength("email", "E-mail", f.Email, true, accounts.MaxEmailLength)
	if f.Password == "" {
		f.Errors.add("password", "Password is required.")
	}
	return len(f.Errors) == 0
}

// passwordForm changes the signed-in user's password. Neither password is sent back.
type passwordForm struct {
	Current, New string
	Errors       fieldErrors
}

func (f *passwordForm) validate(email string) bool {
	f.Errors = fieldErrors{}
	if f.Current == "" {
		f.Errors.add("current_password", "Enter your password as it is now.")
	}
	f.Errors.checkPassword("new_password", email, f.New)
	if f.Current != "" && f.New == f.Current {
		f.Errors.add("new_password", "That is your password now: choose a new one.")
	}
	return len(f.Errors) == 0
}

// profileForm edits the signed-in user's profile.
type profileForm struct {
	Name, Address string
	Errors        fieldErrors
}

func (f *profileForm) validate() bool {
	f.Errors = fieldErrors{}
	f.Errors.checkLength("name", "Name", f.Name, true, accounts.MaxNameLength)
	f.Errors.checkLength("address", "Address", f.Address, false, accounts.MaxAddressLength)
	return len(f.Errors) == 0
}

// quantity parses a cart quantity: a whole number from least (1 to add; 0, which removes
// the line, to update) to orders.MaxQuantity. It returns the message to show otherwise.
func quantity(value string, least int) (int, string) {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || n < least || n > orders.MaxQuantity {
		if least == 0 {
			return 0, fmt.Sprintf("Choose a quantity from 0 (to remove it) to %d.", orders.MaxQuantity)
		}
		return 0, fmt.Sprintf("Choose a quantity from %d to %d.", least, orders.MaxQuantity)
	}
	return n, ""
}
