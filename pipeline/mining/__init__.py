"""Mining GitHub (or any compatible API) for candidate repositories: a JSONL manifest of
repositories, each accepted or rejected with its reason, that `abc-pipeline batch` reads."""
