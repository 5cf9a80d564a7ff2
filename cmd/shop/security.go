package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/handlers"
	"github.com/shopcache/shop/ratelimit"
)

// adminEnsurer is accounts.Cached's EnsureAdmin.
type adminEnsurer interface {
	EnsureAdmin(ctx context.Context, email, password string) (accounts.User, error)
}

// ensureAdmin makes the SHOP_ADMIN_EMAIL account at start, when one is configured. An
// e-mail that belongs to an account that is not an admin is not promoted — anyone could
// have registered it before the operator chose it — and the shop starts without an admin,
// logging at error level what happened and the two ways out. It does not refuse to start:
// then registering an address would be enough to keep the shop down at its next deploy.
// Other errors (Postgres) are returned.
func ensureAdmin(ctx context.Context, users adminEnsurer, cfg config, logger *slog.Logger) error {
	if cfg.AdminEmail == "" {
		return nil
	}
	admin, err := users.EnsureAdmin(ctx, cfg.AdminEmail, cfg.AdminPassword)
	if errors.Is(err, accounts.ErrNotAdmin) {
		email := accounts.NormalizeEmail(cfg.AdminEmail)
		logger.Error(fmt.Sprintf("SHOP_ADMIN_EMAIL: the account %s exists and is not an admin, so it was not made one "+
			"(configuration never promotes an existing account: anyone may have registered that address), and its "+
			"password was not changed; the shop runs without an admin. If that account is yours, promote it by hand: "+
			`psql "$SHOP_DATABASE_URL" -c "UPDATE users SET is_admin = true WHERE email = '%s'"; `+
			"or choose another SHOP_ADMIN_EMAIL", email, strings.ReplaceAll(email, "'", "''")), "email", email)
		return nil
	}
	if err != nil {
		return err
	}
	logger.Info("admin account ready", "email", admin.Email, "id", admin.ID)
	return nil
}

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

// rateLimits are the handlers' limits on sign-in and sign-up attempts, counted in rdb under
// the deployment's key prefix, so that every instance shares them.
func rateLimits(cfg config, rdb redis.UniversalClient) handlers.RateLimits {
	return handlers.RateLimits{
		Limiter:        ratelimit.New(rdb, cfg.RedisKeyPrefix),
		LoginAccount:   cfg.LoginLimitAccount,
		LoginIP:        cfg.LoginLimitIP,
		SignupIP:       cfg.SignupLimitIP,
		TrustedProxies: cfg.TrustedProxies,
	}
}
