"""The keys of what inas records in a study: a study's settings, a trial's record, the searcher's marks.

A leaf module (nothing to import), so the CLI can name a key without loading Optuna. A trial's record
keys are the field names of `inas.study.record.TrialRecord` (a test holds them together).
"""

# User attributes of a study.
SETTINGS_KEY = "settings"  # what a resumed search must share with the one it continues
VERSION_KEY = "inas_version"
DATASET_KEY = "dataset"  # in the settings: the dataset the study searched on
SPACE_FINGERPRINT_KEY = "space_fingerprint"  # in the settings: which version of the space was searched
# The record key the objective `train_time` reads; absent from a study searched before inas recorded
# `robust_train_seconds`, whose `train_time` is the wall clock (`train_seconds`), and stays so on --resume.
TIME_OBJECTIVE_KEY = "train_time_reads"

# User attributes the searcher adds to a trial, beside its record.
CURVE_KEY = "val_top1_curve"  # [[epoch, validation top-1 error], ...]
DUPLICATE_KEY = "duplicate_of"  # a repeated proposal that reused this earlier trial's outcome
INTERRUPTED_KEY = "interrupted"  # a trial a stopped search left unfinished
ENQUEUED_KEY = "enqueued"  # a fixed candidate the user asked for (warm start, an experiment's variants)
PRESCREENED_KEY = "prescreened"  # why a candidate --prescreen scored was not trained (another scored higher)

# The record's keys, where a reader names one (a table column, a scheduler's metric).
STATUS = "status"
EPOCHS_DONE = "epochs_done"
EPOCHS_TOTAL = "epochs_total"
ARCH_KEY = "arch"
RECIPE_KEY = "recipe"
ARCH_HASH = "arch_hash"
PARAMS = "params"
MACS = "macs"
EVALUATOR = "evaluator"  # what scored a candidate: supernet:<hash> (absent: its trial trained it)
TRAIN_SECONDS = "train_seconds"  # the training epochs' wall clock: what a busy machine lengthens
STEP_SECONDS = "step_seconds"  # the median training step, after the warm-up
TRAIN_STEPS = "train_steps"
ROBUST_TRAIN_SECONDS = "robust_train_seconds"  # step_seconds x train_steps: the `train_time` objective
VAL_TOP1 = "val_top1"
VAL_TOP5 = "val_top5"
TEST_TOP1 = "test_top1"
TEST_TOP5 = "test_top5"
LATENCY_MS = "latency_ms"
LATENCY_METHOD = "latency_method"
DEVICE = "device"
FAIL_REASON_KEY = "fail_reason"
INFEASIBLE_KEY = "infeasible"
CONSTRAINTS_FOUND_KEY = "constraints"
NASWOT = "naswot"  # the zero-cost proxies' scores, under their names (`inas.model.proxies.PROXIES`)
SYNFLOW = "synflow"
