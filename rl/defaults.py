"""Tuned defaults per (algorithm, environment): what `python -m rl.train ALGO ENV` runs with
when no flag says otherwise. See BENCHMARKS.md for what each reaches, measured on the 2-core
development machine."""

from __future__ import annotations

TUNED = {
    # RL-Zoo's shape (ten epochs, no value clipping) with 16 sub-envs x 128 steps in two
    # minibatches of 1,024 and a higher learning rate: 960 updates where the Zoo's needs 3,900.
    # Measured (2026-12-04, a 2-core AMD EPYC, with tanh32, CPU float32 tanh since 171f65e; one
    # population run of seeds 1-32 per BLAS kernel, deterministic 100-episode means): solved
    # (>= 475) by 32/32 under OpenBLAS's Haswell kernels and 31/32 under Sandybridge's (seed 7:
    # 359.8), IQM 500 [500, 500] under both; (2026-12-07, an AVX-512 AMD EPYC) 31/32 under
    # SkylakeX's (seed 14: 430.6). With numpy's tanh (2026-12-03, dev-2c): 31/32 under
    # Haswell's and 31/32 under SkylakeX's (the failures 247.9 and 467.5). The former 16 x 64 steps in one minibatch: 30/32 and 29/32 (failures at 145-211); with
    # gae_lambda 0.9 and clip 0.25 31/32 and 29/32; 12 epochs 30/32; 150k steps 29/32 and 30/32;
    # ent_coef 0.01 27/32 (all Haswell unless two figures). (2026-12-01/02, one kernel, 16 seeds:)
    # gae_lambda 0.8 7 of 8, 32 x 32 and 64 x 16 sub-envs 5 and 3 of 8, 8 epochs 10 of 16.
    ("ppo", "CartPole"): dict(total_timesteps=100_000, num_envs=16, num_steps=128, num_minibatches=2,
                              update_epochs=10, gamma=0.98, gae_lambda=0.95, ent_coef=0.0,
                              learning_rate=3e-3, clip_vloss=False),
    # RL-Zoo's discount, GAE and learning rate with normalised observations and rewards, 32 sub-envs
    # x 128 steps, 300k steps. Measured (2026-12-04, a 2-core AMD EPYC, with tanh32; one population
    # run of seeds 1-32 per BLAS kernel, deterministic 100-episode means): above -250 for 31/32
    # under OpenBLAS's Haswell kernels (seed 27: -309.4) and 30/32 under Sandybridge's (-331.1,
    # -499.7), IQM -183.7 [95% CI -189.1, -179.3] and -182.5 [-188.7, -177.2]: 61/64, issue 13's
    # 14/16; (2026-12-07, an AVX-512 AMD EPYC) 30/32 under SkylakeX's (-440.9, -327.7), IQM -186.6
    # [-192.0, -182.9]. The former 200k steps: 27/32 and 28/32 (IQM -188.5, -183.8; the others -397 to -556,
    # never swinging up from every start); 200k in 32 minibatches 24/32 (Haswell). Before tanh32
    # (2026-12-03, dev-2c, 200k): 29/32 under Haswell's, 28/32 under SkylakeX's. Earlier, one
    # kernel: 16 x 256 at 100k reached -200 on 4 of 8 seeds; 16 x 256 at 200k and 32 x 128 at 250k
    # each had one seed of 8 below -490; 64 x 64 did worse, and learning rate 5e-4 gave 5 of 8.
    ("ppo", "Pendulum"): dict(total_timesteps=300_000, num_envs=32, num_steps=128, num_minibatches=16,
                              update_epochs=10, gamma=0.9, gae_lambda=0.95, ent_coef=0.0,
                              learning_rate=1e-3, clip_vloss=False, norm_obs=True, norm_reward=True),
    # RL-Zoo's CartPole DQN shape (target copied after each round of gradient steps) with 4
    # sub-envs, 64 gradient steps per round (Zoo: 1 env, 128 steps), double DQN, a 128-128
    # network trained on the squared TD error, learning rate 1e-3 annealed to 0 and exploration
    # falling to 0.01 over the first 10 %, 80k steps. Measured (2026-12-03, dev-2c AMD EPYC,
    # population runs, deterministic 100-episode means): solved (>= 475) by 53/56 seeds under
    # OpenBLAS's Haswell kernels (seeds 1-8 7/8, 101-116 15/16, 117-148 31/32) and 31/32 under
    # Sandybridge's (seeds 1-16 15/16, 17-32 16/16 on 2026-12-04), IQM 500 under both: 84/88 =
    # 95 %, issue 13's 15/16; (2026-12-07, an AVX-512 AMD EPYC) 31/32 under SkylakeX's (seed 31:
    # 136.2). The failures either
    # stay on the ~200 plateau (cart drift) or fall back from 500 late. With exploration down to
    # 0.04 (the Zoo's): Haswell 87/96 (seeds 1-48, 101-116, 149-180), Sandybridge 29/32: 91 %.
    # Tried the same way (Haswell, 16 seeds each): the former 256-256 network with the Huber
    # loss 14/16 on seeds 1-16 and on 17-32 (13/16 under SkylakeX on an Intel Xeon), with MSE
    # 15/16 (seeds 1-16); with 128-128, MSE and end_e 0.04 on seeds 101-116: rounds of 32
    # gradient steps every 128 env steps 13/16, 16 every 64 4/16, 128 every 512 2/16 (so the
    # target's pace matters most); 100k steps 14/16; batch 128 14/16. Earlier (256-256, Huber,
    # seeds 1-16): 40k steps at a constant rate 7/16; annealing at 50k 6/16, at 100k 11/16; lr
    # 5e-4 at 60k 13/16.
    ("dqn", "CartPole"): dict(total_timesteps=80_000, num_envs=4, learning_rate=1e-3, anneal_lr=True,
                              batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
                              target_network_frequency=10, train_frequency=256, gradient_steps=64,
                              exploration_fraction=0.1, end_e=0.01, hidden_sizes=(128, 128), loss="mse",
                              max_grad_norm=10.0, double_dqn=True),
    # RL-Zoo's Acrobot DQN (lr, batch, buffer, target updates every 250 steps, exploration over
    # 12 %) with 8 sub-envs, a 128-128 network, 8 gradient steps every 32 env steps (the Zoo: 256-256,
    # one per step) and double DQN. Measured (2026-12-01, dev-2c): 100-episode means -80.0, -112.0,
    # -87.3, -82.2 for seeds 5-8 and 20-episode means -72 to -87 for seeds 1-4 (Gymnasium's
    # threshold: -100); seed 1: -76.2 in 27 s whole-process. The Zoo's own shape solved 3 of 4 seeds
    # (seed 2: -168) in 52-73 s each, two runs at a time.
    ("dqn", "Acrobot"): dict(total_timesteps=100_000, num_envs=8, learning_rate=1e-3, batch_size=128,
                             buffer_size=50_000, learning_starts=1000, gamma=0.99, target_network_frequency=250,
                             train_frequency=32, gradient_steps=8, exploration_fraction=0.12, end_e=0.05,
                             hidden_sizes=(128, 128), max_grad_norm=10.0, double_dqn=True),
    # RL-Zoo's MountainCar DQN as published (one sub-env, 256-256, 8 gradient steps every 16 env
    # steps, target copied every 600, exploration over 20 % down to 0.07) with gradient norms
    # clipped at 10 as SB3 does. Measured (2026-12-01, dev-2c, two runs at a time, ~95 s each):
    # 100-episode means -107.6 and -132.5 for seeds 3-4, 20-episode means -107.7 and -104.3 for
    # seeds 1-2 (Gymnasium's threshold: -110); training returns still rising at 120k steps.
    ("dqn", "MountainCar"): dict(total_timesteps=120_000, num_envs=1, learning_rate=4e-3, batch_size=128,
                                 buffer_size=10_000, learning_starts=1000, gamma=0.98, target_network_frequency=600,
                                 train_frequency=16, gradient_steps=8, exploration_fraction=0.2, end_e=0.07,
                                 hidden_sizes=(256, 256), max_grad_norm=10.0),
    # RL-Zoo's hyperparams/ppo.yml. Measured, seed 1, whole process with a 20-episode evaluation
    # (Gymnasium's "solved" thresholds in brackets): Acrobot -82.0 (-100) in 27 s, MountainCar
    # -110.3 (-110) in 55 s, MountainCarContinuous 95.5 (90) in 8.8 s.
    ("ppo", "Acrobot"): dict(total_timesteps=1_000_000, num_envs=16, num_steps=256, num_minibatches=16,
                             update_epochs=4, gae_lambda=0.94, ent_coef=0.0, norm_obs=True),
    ("ppo", "MountainCar"): dict(total_timesteps=1_000_000, num_envs=16, num_steps=16, num_minibatches=4,
                                 update_epochs=4, gae_lambda=0.98, ent_coef=0.0, norm_obs=True),
    ("ppo", "MountainCarContinuous"): dict(total_timesteps=100_000, num_envs=4, num_steps=256,
                                           num_minibatches=4, update_epochs=10, gamma=0.9999,
                                           gae_lambda=0.9, learning_rate=7.77e-5, ent_coef=0.00429,
                                           clip_coef=0.1, max_grad_norm=5.0, vf_coef=0.19, norm_obs=True),
    # Feed-forward PPO on CartPoleNoVel with CartPole's settings of 2026-11-22 (gae_lambda 0.8, as
    # measured in README's figure), the baseline recurrent PPO is compared with: without
    # velocities it cannot balance for long.
    ("ppo", "CartPoleNoVel"): dict(total_timesteps=100_000, num_envs=16, num_steps=64, num_minibatches=1,
                                   update_epochs=10, gamma=0.98, gae_lambda=0.8, ent_coef=0.0,
                                   learning_rate=3e-3, clip_vloss=False),
    # Recurrent PPO on the partially observed envs. CartPoleNoVel: RL-Zoo's ppo_lstm shape (gamma
    # 0.98, lambda 0.8, no entropy bonus, normalised observations and rewards, its 20 epochs) with
    # 16 sub-envs x 32 steps in 2 minibatches of whole sequences; a GRU core each for actor and
    # critic. Measured (2026-12-04, a 2-core AMD EPYC, with tanh32; one population run of seeds
    # 1-32 per BLAS kernel): solved (>= 475) by 28/32 under OpenBLAS's Haswell kernels (failures
    # 193.6-378.0) and 28/32 under Sandybridge's (139.6-450.1), IQM 500 [498.1, 500] and [498.6,
    # 500]; (2026-12-07, an AVX-512 AMD EPYC) 29/32 under SkylakeX's (187.4-382.7). With numpy's
    # tanh (2026-12-03, dev-2c): 29/32 under Haswell's and under SkylakeX's. With 10 epochs: 22/32 (Haswell), the failures at 168-444.
    ("rppo", "CartPoleNoVel"): dict(total_timesteps=100_000, num_envs=16, num_steps=32, num_minibatches=2,
                                    update_epochs=20, learning_rate=1e-3, gamma=0.98, gae_lambda=0.8,
                                    ent_coef=0.0, norm_obs=True, norm_reward=True),
    # PendulumNoVel: PPO Pendulum's discount and normalisation, 16 x 64 steps. Measured: -269 and
    # -323 for seeds 1-2 after 200k steps (~60 s with another run beside it); training returns
    # level off near -300 from 100k on (full-observation Pendulum with the same settings: -186).
    ("rppo", "PendulumNoVel"): dict(total_timesteps=200_000, num_envs=16, num_steps=64, num_minibatches=4,
                                    update_epochs=10, learning_rate=1e-3, gamma=0.9, gae_lambda=0.95,
                                    ent_coef=0.0, norm_obs=True, norm_reward=True, clip_vloss=False),
    # MemoryCue: one shared core, learning rate 3e-3; measured: every answer right (mean 1.0) for
    # seeds 1-8 after 60k steps, ~5 s (and for seeds 1-4 after 40k). With a core each, or at 1e-3,
    # 2 of 4 seeds had not found the cue by 60k.
    ("rppo", "MemoryCue"): dict(total_timesteps=60_000, num_envs=16, num_steps=64, num_minibatches=4,
                                update_epochs=4, learning_rate=3e-3, ent_coef=0.01, shared_rnn=True),
}


def tuned_defaults(algo: str, env: str) -> dict:
    import envs

    return dict(TUNED.get((algo, envs.canonical(env)), {}))
