package main

import (
	"errors"
	"fmt"

	"github.com/shopcache/shop/accounts"
)

// adminPasswordProblem says why SHOP_ADMIN_PASSWORD is refused, if it is: the rules of
// accounts.CheckPassword (NIST SP 800-63B §5.1.1.2, bcrypt's 72 bytes). The message never
// holds the password.
func adminPasswordProblem(email, password string) error {
	switch err := accounts.CheckPassword(email, password); {
	case err == nil:
		return nil
	case errors.Is(err, accounts.ErrPasswordTooShort):
		return fmt.Errorf("SHOP_ADMIN_PASSWORD: want at least %d characters", accounts.MinPasswordLength)
	case errors.Is(err, accounts.ErrPasswordTooLong):
		return fmt.Errorf("SHOP_ADMIN_PASSWORD: want at most %d bytes (bcrypt reads only the first %d), got %d",
			accounts.MaxPasswordBytes, accounts.MaxPasswordBytes, len(password))
	case errors.Is(err, accounts.ErrPasswordCommon):
		return errors.New("SHOP_ADMIN_PASSWORD: it is among the 10,000 most common passwords; choose another")
	case errors.Is(err, accounts.ErrPasswordIsEmail):
		return errors.New("SHOP_ADMIN_PASSWORD: it is SHOP_ADMIN_EMAIL or its part before the @; choose another")
	default:
		return fmt.Errorf("SHOP_ADMIN_PASSWORD: %w", err)
	}
}
