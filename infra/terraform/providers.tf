provider "aws" {
  region = var.region

  # Refuse to touch any other account than the one the stack was written for.
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = merge({
      Project   = var.name
      ManagedBy = "terraform"
    }, var.tags)
  }
}
