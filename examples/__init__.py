"""CleanRL-style training scripts (installed as ``smp_gym.examples``; run them as files)."""
