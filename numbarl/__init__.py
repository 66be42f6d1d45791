"""What numbarl's packages (autodiff, envs, algos, rl) share below all of them: process-wide
settings that must not belong to any one package."""
