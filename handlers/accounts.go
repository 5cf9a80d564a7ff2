package handlers

import (
	"errors"
	"net/http"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/orders"
)

func (s *Server) handleRegisterForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "register", "Create an account", &registerForm{})
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	f := &registerForm{Email: values.Get("email"), Name: values.Get("name"), Password: values.Get("password")}
	if !f.validate() {
		f.Password = ""
		s.render(w, r, http.StatusUnprocessableEntity, "register", "Create an account", f)
		return
	}
	if err := s.allowSignup(r); err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	u, err := s.accounts.Register(ctx, f.Email, f.Name, f.Password)
	if errors.Is(err, accounts.ErrEmailTaken) {
		f.Password = ""
		f.Errors.add("email", "This e-mail already has an account. Sign in instead?")
		s.render(w, r, http.StatusUnprocessableEntity, "register", "Create an account", f)
		return
	}
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	if err := s.signIn(r, u); err != nil {
		s.serveError(w, r, err)
		return
	}
	s.flash(ctx, "Welcome, "+u.Name+"! Your account is ready.")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signIn renews the session token (the old one is deleted from Redis, so a token seen before
// sign-in is worth nothing after) and records the user; an anonymous cart joins the user's.
func (s *Server) signIn(r *http.Request, u accounts.User) error {
	ctx := r.Context()
	anonCart := ""
	if token := s.sessions.Token(ctx); token != "" {
		anonCart = orders.SessionCartID(token)
	}
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionUserID, u.ID)
	if anonCart != "" {
		return s.carts.Merge(ctx, anonCart, orders.UserCartID(u.ID), s.stock)
	}
	return nil
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	values, err := query(r.URL.RawQuery)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "login", "Sign in", &loginForm{Next: localPath(values.Get("next"))})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	f := &loginForm{Email: values.Get("email"), Password: values.Get("password"), Next: localPath(values.Get("next"))}
	if !f.validate() {
		f.Password = ""
		s.render(w, r, http.StatusUnprocessableEntity, "login", "Sign in", f)
		return
	}
	if err := s.allowLogin(r, f.Email); err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	u, err := s.accounts.Authenticate(ctx, f.Email, f.Password)
	if errors.Is(err, accounts.ErrBadCredentials) {
		f.Password = ""
		f.Problem = "That e-mail and password don't match an account. Check both and try again."
		s.render(w, r, http.StatusUnprocessableEntity, "login", "Sign in", f)
		return
	}
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	if err := s.signIn(r, u); err != nil {
		s.serveError(w, r, err)
		return
	}
	s.flash(ctx, "Signed in. Hello, "+u.Name+".")
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.serveError(w, r, err)
		return
	}
	s.sessions.Remove(ctx, sessionUserID)
	s.flash(ctx, "You are signed out.")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type accountPage struct {
	User     *accounts.User
	Form     *profileForm
	Password *passwordForm
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	setXCache(w, r, keys.User(u.ID))
	s.render(w, r, http.StatusOK, "account", "Your account", accountPage{User: u, Form: &profileForm{Name: u.Name, Address: u.Address}, Password: &passwordForm{}})
}

// handleAccountPassword changes the password, and signs the account out everywhere else: the
// session's token is renewed, and every other session of the user ends.
func (s *Server) handleAccountPassword(w http.ResponseWriter, r *http.Request) {
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	u := currentUser(ctx)
	f := &passwordForm{Current: values.Get("current_password"), New: values.Get("new_password")}
	refuse := func() {
		f.Current, f.New = "", ""
		s.render(w, r, http.StatusUnprocessableEntity, "account", "Your account",
			accountPage{User: u, Form: &profileForm{Name: u.Name, Address: u.Address}, Password: f})
	}
	if !f.validate(u.Email) {
		refuse()
		return
	}
	// A guess of the current password counts against the account's sign-in limit: a stolen
	// session must not be a way to guess the password without one.
	if err := s.allowLogin(r, u.Email); err != nil {
		s.serveError(w, r, err)
		return
	}
	// The session's token is renewed only once the current password is known right: the
	// change then keeps this session under its new token and ends every other one.
	if err := s.accounts.VerifyPassword(ctx, u.ID, f.Current); errors.Is(err, accounts.ErrBadCredentials) {
		f.Errors.add("current_password", "That is not your password as it is now.")
		refuse()
		return
	} else if err != nil {
		s.serveError(w, r, err)
		return
	}
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.serveError(w, r, err)
		return
	}
	_, err = s.accounts.ChangePassword(ctx, u.ID, f.Current, f.New, s.sessions.Token(ctx))
	switch {
	case errors.Is(err, accounts.ErrBadCredentials): // changed by another request meanwhile
		f.Errors.add("current_password", "That is not your password as it is now.")
		refuse()
		return
	case errors.Is(err, accounts.ErrSessionsNotEnded):
		s.log.Error("password changed but other sessions not ended", "user", u.ID, "err", err)
		s.flash(ctx, "Your password is changed. Other sessions of your account could not all be signed out just now: sign out on your other devices.")
	case err != nil:
		s.serveError(w, r, err)
		return
	default:
		s.flash(ctx, "Your password is changed, and every other session of your account is signed out.")
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) handleAccountUpdate(w http.ResponseWriter, r *http.Request) {
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	u := currentUser(r.Context())
	f := &profileForm{Name: values.Get("name"), Address: values.Get("address")}
	if !f.validate() {
		s.render(w, r, http.StatusUnprocessableEntity, "account", "Your account", accountPage{User: u, Form: f, Password: &passwordForm{}})
		return
	}
	if _, err := s.accounts.UpdateProfile(r.Context(), u.ID, f.Name, f.Address); err != nil {
		s.serveError(w, r, err)
		return
	}
	s.flash(r.Context(), "Your profile is saved.")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}
