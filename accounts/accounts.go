// Package accounts holds the shop's users: registration, password checks, profiles and the
// admin account made from the configuration. Passwords are hashed with bcrypt. It knows
// nothing of HTTP or sessions; validating what a person typed is the handlers' job.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopcache/shop/internal/pgretry"
	"golang.org/x/crypto/bcrypt"
)

// Limits of what an account holds.
const (
	MinPasswordLength = 8   // characters; NIST SP 800-63B §5.1.1.2 asks for at least 8
	MaxPasswordBytes  = 72  // bcrypt uses only the first 72 bytes, so longer is refused
	MaxEmailLength    = 254 // RFC 5321 path limit, as commonly applied to addresses
	MaxNameLength     = 200 // characters
	MaxAddressLength  = 1000
)

var (
	// ErrNotFound is returned for an unknown user id.
	ErrNotFound = errors.New("accounts: not found")
	// ErrEmailTaken is returned by Register for an e-mail that has an account.
	ErrEmailTaken = errors.New("accounts: e-mail already registered")
	// ErrBadCredentials is returned by Authenticate for an unknown e-mail or a wrong
	// password alike, so the caller cannot tell which.
	ErrBadCredentials = errors.New("accounts: wrong e-mail or password")
)

// User is an account, without its password hash.
type User struct {
	ID        int64
	Email     string // normalised: trimmed, lower case
	Name      string
	Address   string // shipping address, free text; may be empty
	IsAdmin   bool
	Version   int64 // bumped on every change
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store reads and writes users in Postgres.
type Store struct {
	pool       *pgxpool.Pool
	bcryptCost int
	latency    time.Duration
}

// WithLatency makes every profile read wait d first (SHOP_DB_LATENCY, a demonstration of a
// slower database). It returns s.
func (s *Store) WithLatency(d time.Duration) *Store {
	s.latency = d
	return s
}

// NewStore returns a Store over pool that hashes new passwords with bcryptCost
// (bcrypt.DefaultCost in the shop; tests may use bcrypt.MinCost).
func NewStore(pool *pgxpool.Pool, bcryptCost int) *Store {
	return &Store{pool: pool, bcryptCost: bcryptCost}
}

// NormalizeEmail trims e-mail and lowers its case; accounts are unique under it.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

const userColumns = `id, email, name, address, is_admin, version, created_at, updated_at`

func scanUser(row pgx.CollectableRow) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Address, &u.IsAdmin, &u.Version, &u.CreatedAt, &u.UpdatedAt)
	return u, err
}

// Register creates an account; email is normalised first. It returns ErrEmailTaken when the
// e-mail has an account already, and CheckPassword's error for a password it refuses.
func (s *Store) Register(ctx context.Context, email, name, password string) (User, error) {
	if err := CheckPassword(email, password); err != nil {
		return User{}, fmt.Errorf("accounts: register: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
	if err != nil {
		return User{}, fmt.Errorf("accounts: hash password: %w", err)
	}
	rows, _ := s.pool.Query(ctx, `INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)
		RETURNING `+userColumns, NormalizeEmail(email), name, string(hash))
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: register: %w", err)
	}
	return u, nil
}

// dummyHash is compared against when an e-mail is unknown, so that a wrong e-mail takes as
// long to refuse as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a real password"), bcrypt.DefaultCost)
	return h
})

// Authenticate returns the user with email and password, or ErrBadCredentials.
func (s *Store) Authenticate(ctx context.Context, email, password string) (User, error) {
	var hash string
	var u User
	err := s.pool.QueryRow(ctx, `SELECT password_hash, `+userColumns+` FROM users WHERE email = $1`,
		NormalizeEmail(email)).Scan(&hash, &u.ID, &u.Email, &u.Name, &u.Address, &u.IsAdmin, &u.Version, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: authenticate: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// FindUser returns the user with id, or ErrNotFound. A read that failed because a schema
// change invalidated a pooled connection's prepared statement is run again (pgretry).
func (s *Store) FindUser(ctx context.Context, id int64) (u User, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { u, err = s.findUser(ctx, id); return err })
	return u, err
}

func (s *Store) findUser(ctx context.Context, id int64) (User, error) {
	if s.latency > 0 {
		select {
		case <-time.After(s.latency):
		case <-ctx.Done():
		}
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("accounts: find user %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: find user %d: %w", id, err)
	}
	return u, nil
}

// UpdateProfile sets the name and shipping address of user id and bumps its version.
func (s *Store) UpdateProfile(ctx context.Context, id int64, name, address string) (User, error) {
	rows, _ := s.pool.Query(ctx, `UPDATE users SET name = $2, address = $3, version = version + 1, updated_at = now()
		WHERE id = $1 RETURNING `+userColumns, id, name, address)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("accounts: update user %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: update user %d: %w", id, err)
	}
	return u, nil
}

// VerifyPassword returns nil when password is user id's password, else ErrBadCredentials
// (or ErrNotFound).
func (s *Store) VerifyPassword(ctx context.Context, id int64, password string) error {
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, id).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("accounts: check password of %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("accounts: check password of %d: %w", id, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return ErrBadCredentials
	}
	return nil
}

// ChangePassword sets the password of user id to newPassword, if current is its password
// now, and bumps its version. It returns ErrBadCredentials for a wrong current password, the
// errors of CheckPassword for a new one the rules refuse, or ErrNotFound; then nothing
// changed.
func (s *Store) ChangePassword(ctx context.Context, id int64, current, newPassword string) (User, error) {
	var hash string
	var u User
	err := s.pool.QueryRow(ctx, `SELECT password_hash, `+userColumns+` FROM users WHERE id = $1`, id).
		Scan(&hash, &u.ID, &u.Email, &u.Name, &u.Address, &u.IsAdmin, &u.Version, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("accounts: change password of %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: change password of %d: %w", id, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(current)) != nil {
		return User{}, ErrBadCredentials
	}
	if err := CheckPassword(u.Email, newPassword); err != nil {
		return User{}, err
	}
	newHash, err := bcrypt.GenerateFromPassword([]byte(newPassword), s.bcryptCost)
	if err != nil {
		return User{}, fmt.Errorf("accounts: hash password: %w", err)
	}
	// Only if the hash is still the one checked: of two concurrent changes, one wins.
	rows, _ := s.pool.Query(ctx, `UPDATE users SET password_hash = $3, version = version + 1, updated_at = now()
		WHERE id = $1 AND password_hash = $2 RETURNING `+userColumns, id, hash, string(newHash))
	u, err = pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: change password of %d: %w", id, err)
	}
	return u, nil
}

// ErrNotAdmin is returned by EnsureAdmin when the e-mail belongs to an account that is not
// an admin: configuration never promotes an existing account, since anyone may have
// registered the address before the operator chose it.
var ErrNotAdmin = errors.New("accounts: the account exists and is not an admin")

// EnsureAdmin creates the admin account email with password or, when the e-mail is already
// an admin's, sets its password: it runs at every start, so the configured password is the
// one that works. When the e-mail belongs to an account that is not an admin, that account
// is left exactly as it is and ErrNotAdmin is returned; an operator promotes it by hand.
// A password that CheckPassword refuses is refused with its error.
func (s *Store) EnsureAdmin(ctx context.Context, email, password string) (User, error) {
	if err := CheckPassword(email, password); err != nil {
		return User{}, fmt.Errorf("accounts: ensure admin: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
	if err != nil {
		return User{}, fmt.Errorf("accounts: hash admin password: %w", err)
	}
	// The WHERE of DO UPDATE leaves a non-admin's row alone and returns no row for it.
	rows, _ := s.pool.Query(ctx, `INSERT INTO users (email, name, password_hash, is_admin) VALUES ($1, 'Admin', $2, true)
		ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash,
			version = users.version + 1, updated_at = now()
		WHERE users.is_admin
		RETURNING `+userColumns, NormalizeEmail(email), string(hash))
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("accounts: ensure admin %s: %w", NormalizeEmail(email), ErrNotAdmin)
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: ensure admin: %w", err)
	}
	return u, nil
}
