package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/shopcache/shop/accounts"
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
func ensureAdmin(ctx context.Context, users adminEnsurer, cfg Config, logger *slog.Logger) error {
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
