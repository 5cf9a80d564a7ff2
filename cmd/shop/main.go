// Command shop is the demo shop: one binary whose subcommands serve it, migrate its database,
// seed its data and rebuild its Redis structures. Run `shop help` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/internal/dataset"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is the process's exit status for what run returned: 0 for nil, 2 for a command
// line the shop does not understand (as the flag package does), 1 for anything else.
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

const usage = `usage: shop [command]

Commands:
  serve                  apply migrations, seed an empty catalog, serve the shop (the default)
  migrate                apply pending database migrations and exit
  seed --dataset NAME [--orders]
                         load a data set (online-retail or dummyjson) and, with --orders,
                         its order history; running it twice changes nothing
  leaderboard rebuild    recompute every bestseller board in Redis from the orders in
                         Postgres and swap them in atomically
  load [flags]           send a shopper mix to a running shop and write a JSON summary and
                         an HTML report (shop load --help)
  help                   show this text

Configuration is read from SHOP_* environment variables; see README.md. shop load reads
none: it is a client of a running shop.
`

// errUsage is returned for a command line the shop does not understand.
var errUsage = errors.New("bad command line (see shop help)")

// run is the whole program: main only gives it the process's arguments, environment and
// output streams, so tests can call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", []string(nil)
	if len(args) > 1 {
		cmd, rest = args[1], args[2:]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "load":
		return loadCommand(ctx, rest, stdout, stderr)
	case "serve", "migrate", "seed", "leaderboard":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	switch cmd {
	case "serve":
		if len(rest) > 0 {
			return fmt.Errorf("%w: serve takes no arguments", errUsage)
		}
		return serve(ctx, cfg, logger)
	case "migrate":
		if len(rest) > 0 {
			return fmt.Errorf("%w: migrate takes no arguments", errUsage)
		}
		return migrate(ctx, cfg, logger)
	case "leaderboard":
		if len(rest) != 1 || rest[0] != "rebuild" {
			return fmt.Errorf("%w: want leaderboard rebuild", errUsage)
		}
		return rebuildLeaderboard(ctx, cfg, logger, stdout)
	default:
		return seed(ctx, cfg, logger, rest, stdout, stderr)
	}
}

func migrate(ctx context.Context, cfg config, logger *slog.Logger) error {
	pool, err := app.OpenPostgres(ctx, cfg.DatabaseURL, logger, nil, nil, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := app.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	logger.Info("migrations applied", "versions", applied)
	return nil
}

func rebuildLeaderboard(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	cfg.Seed = false
	shop, err := app.New(ctx, cfg.Config, logger)
	if err != nil {
		return err
	}
	defer shop.Close()
	res, err := shop.Board.Rebuild(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "leaderboard rebuilt in %.2fs: %d products, %d day boards, %d category boards\n",
		res.Took.Seconds(), res.Products, res.Days, res.Categories)
	return nil
}

func seed(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("seed", flag.ContinueOnError)
	flags.SetOutput(stderr)
	name := flags.String("dataset", dataset.Names[0], fmt.Sprintf("data set to load: one of %v", dataset.Names))
	orders := flags.Bool("orders", false, "also import the data set's order history")
	if err := flags.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("%w: seed takes no positional arguments, got %q", errUsage, flags.Args())
	}
	if !validDataset(*name) {
		return fmt.Errorf("%w: --dataset %q: want one of %v", errUsage, *name, dataset.Names)
	}
	pool, err := app.OpenPostgres(ctx, cfg.DatabaseURL, logger, nil, nil, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := app.Migrate(ctx, pool); err != nil {
		return err
	}
	res, err := dataset.Load(ctx, pool, *name, *orders, stdout)
	if err != nil && ctx.Err() != nil {
		return errors.New("seed interrupted: nothing was written (a load is one transaction)")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %s in %.1fs: products %d (%d new), reviews %d (%d new)",
		*name, res.Took.Seconds(), res.Products, res.ProductsInserted, res.Reviews, res.ReviewsInserted)
	if *orders {
		fmt.Fprintf(stdout, ", orders %d (%d new), order lines %d (%d new)",
			res.Orders, res.OrdersInserted, res.OrderLines, res.OrderLinesInserted)
	}
	fmt.Fprintln(stdout)
	return nil
}

func validDataset(name string) bool {
	for _, n := range dataset.Names {
		if n == name {
			return true
		}
	}
	return false
}
