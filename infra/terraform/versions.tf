terraform {
  # 1.11: write-only arguments (password_wo, secret_string_wo) fed from
  # ephemeral resources (1.10); validations that refer to other variables
  # (1.9); mock_provider in the tests (1.7).
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.7"
    }
  }
}
