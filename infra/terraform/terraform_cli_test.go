package terraform_test

// The terraform command itself: fmt whenever terraform is on PATH. validate,
// test and the plan checks run in check.sh (providers from a local mirror).

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
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

// terraform validate and terraform test run in check.sh, which builds the
// providers they need into a filesystem mirror and fails when it can't: CI
// runs it from .ci/run (see README: Checks). This test only makes sure CI
// keeps calling it.
func TestCIRunsTheTerraformChecks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "bash infra/terraform/check.sh") {
			return
		}
	}
	t.Errorf(".ci/run does not run bash infra/terraform/check.sh: terraform validate and terraform test would gate nothing")
}
