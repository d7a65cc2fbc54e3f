"""What a description may ask for: bounds that keep every command's memory and time in proportion to
the size of its input files, whatever they say. One home, quoted by the README's "Limits" section."""

from __future__ import annotations

MAX_FILE_BYTES = 1 << 20  # a search space YAML or a config JSON; the built-in ones are under 4 KiB
MAX_DESCRIPTION_CHARS = 4_000
MAX_CHOICES = 1_000  # values in one `choices:` list
MAX_STAGES = 7  # module names run from stage 3 to stage 9
MAX_MODULES_PER_STAGE = 26  # module names run from a to z
MAX_CHANNELS = 8_192  # one branch of one module (GoogLeNet's widest is 384)
MAX_CLASSES = 100_000
MAX_INPUT_SIZE = 4_096
MAX_PARAMS = 500_000_000  # a network is counted on the meta device before any memory is allocated
MAX_PRESCREEN = 16  # --prescreen: candidates scored (on the driver, between heartbeats) for each one trained
MAX_NAME_CHARS = 100  # a study's name, which names its files
MAX_IMAGE_FILE_BYTES = 64 << 20  # one image file (inas predict, imagefolder:), read before decoding
MAX_IMAGE_PIXELS = 4_096 * 4_096  # width x height of one image, from its header before decoding
MAX_DECODED_BYTES = 16 << 30  # all the decoded pixels of one image folder (CIFAR-10's are 184 MB)
MAX_IMAGES = 10_000_000  # image files in one image folder
MAX_IMAGE_FOLDERS = 100_000  # folders inside one image folder
MAX_SYNTHETIC = 200_000  # synthetic:N (600 MB of 32x32 images)
MAX_CLASS_NAME_CHARS = 1_000  # one class name in a model's config.json
MAX_SEED = 2**32 - 1  # --seed (numpy's seeds are 32-bit)
MAX_TIMEOUT_S = 366 * 24 * 3600  # --timeout: a year; more is a typo
MAX_LR = 1e30  # a learning rate: past 3.4e38 it does not fit the optimizer's float32 (a crash, not NaN)
MAX_SAMPLES = 10_000  # inas space sample --n
MAX_MEMORY_BYTES = 1 << 50  # INAS_MAX_MEMORY (1 PiB)
