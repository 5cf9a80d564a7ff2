package terraform_test

// The terraform command itself: fmt whenever terraform is on PATH; validate
// and test (mocked aws provider, real random provider) only when a provider
// mirror holds both hashicorp/aws and hashicorp/random, since the registry
// can't be reached from every machine this runs on.

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func terraformBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH: skipping the terraform command checks (the HCL checks above still ran)")
	}
	return bin
}

func runTerraform(t *testing.T, bin, dir string, timeout time.Duration, args ...string) (string, error) {
	return runTerraformEnv(t, bin, dir, timeout, nil, args...)
}

func runTerraformEnv(t *testing.T, bin, dir string, timeout time.Duration, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), ctx.Err()
	}
	return out.String(), err
}

func TestTerraformFmt(t *testing.T) {
	bin := terraformBinary(t)
	out, err := runTerraform(t, bin, ".", time.Minute, "fmt", "-check", "-recursive", "-diff", "-no-color")
	if err != nil {
		t.Fatalf("terraform fmt -check -recursive failed (run terraform fmt -recursive infra/terraform): %v\n%s", err, out)
	}
}

// providerMirrors lists the filesystem mirrors terraform would use: those of
// the CLI configuration's provider_installation block or, without one, the
// implied local directories.
func providerMirrors(t *testing.T) (mirrors []string, configFile string) {
	configFile = os.Getenv("TF_CLI_CONFIG_FILE")
	if configFile == "" {
		if home, err := os.UserHomeDir(); err == nil {
			configFile = filepath.Join(home, ".terraformrc")
		}
	}
	if f, diags := hclparse.NewParser().ParseHCLFile(configFile); !diags.HasErrors() {
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if b.Type != "provider_installation" {
				continue
			}
			for _, m := range b.Body.Blocks {
				if m.Type != "filesystem_mirror" {
					continue
				}
				if a, ok := m.Body.Attributes["path"]; ok {
					if v, diags := a.Expr.Value(nil); !diags.HasErrors() && !v.IsNull() {
						mirrors = append(mirrors, v.AsString())
					}
				}
			}
			return mirrors, configFile // an explicit block replaces the implied mirrors
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		mirrors = append(mirrors, filepath.Join(home, ".terraform.d", "plugins"))
	}
	mirrors = append(mirrors, "/usr/local/share/terraform/plugins", "/usr/share/terraform/plugins")
	return mirrors, configFile
}

func mirrorHas(mirror, provider string) bool {
	entries, err := os.ReadDir(filepath.Join(mirror, "registry.terraform.io", "hashicorp", provider))
	return err == nil && len(entries) > 0
}

func TestTerraformValidateAndTest(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping terraform validate and terraform test")
	}
	bin := terraformBinary(t)
	mirrors, configFile := providerMirrors(t)
	var found []string
	for _, m := range mirrors {
		if aws, random := mirrorHas(m, "aws"), mirrorHas(m, "random"); aws || random {
			found = append(found, m+" (aws: "+yesNo(aws)+", random: "+yesNo(random)+")")
		}
	}
	// Both in the same mirror or in different ones will do.
	if !anyMirrorHas(mirrors, "aws") || !anyMirrorHas(mirrors, "random") {
		t.Skipf("SKIP terraform validate / terraform test: no provider mirror with both hashicorp/aws and hashicorp/random "+
			"(CLI config %s; mirrors found: %s). With registry access run them by hand: "+
			"terraform init && terraform validate && terraform test, in infra/terraform, modules/elasticache and modules/app.",
			configFile, orNone(found))
	}

	// Work on a copy so no .terraform directory lands in the source tree.
	work := t.TempDir()
	copyConfig(t, ".", work)
	// One copy of the (large) aws provider, linked into each directory.
	cache := filepath.Join(work, ".plugin-cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"TF_PLUGIN_CACHE_DIR=" + cache}
	for _, dir := range []string{".", "modules/network", "modules/elasticache", "modules/database", "modules/app"} {
		t.Run(dir, func(t *testing.T) {
			d := filepath.Join(work, dir)
			if out, err := runTerraformEnv(t, bin, d, 5*time.Minute, env, "init", "-backend=false", "-no-color"); err != nil {
				t.Fatalf("terraform init: %v\n%s", err, out)
			}
			if out, err := runTerraformEnv(t, bin, d, 5*time.Minute, env, "validate", "-no-color"); err != nil {
				t.Fatalf("terraform validate: %v\n%s", err, out)
			}
			if _, err := os.Stat(filepath.Join(d, "tests")); err != nil {
				return
			}
			out, err := runTerraformEnv(t, bin, d, 10*time.Minute, env, "test", "-no-color")
			if err != nil {
				t.Fatalf("terraform test: %v\n%s", err, out)
			}
			t.Logf("terraform test in %s:\n%s", dir, lastLines(out, 3))
		})
	}
}

func anyMirrorHas(mirrors []string, provider string) bool {
	for _, m := range mirrors {
		if mirrorHas(m, provider) {
			return true
		}
	}
	return false
}

// copyConfig copies the Terraform files (not .terraform, state or Go files).
func copyConfig(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".terraform") && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !(strings.HasSuffix(path, ".tf") || strings.HasSuffix(path, ".tfvars") || strings.HasSuffix(path, ".tftest.hcl")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
