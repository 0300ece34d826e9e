"""Pipeline stages: each module has `run(cfg, run_dir)`."""
