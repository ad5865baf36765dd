"""Offline generators: no network, no key, deterministic output, real media files.

* ``offline_image_card`` (:mod:`.image_card`): a PNG/JPEG/WebP card showing the prompt.
* ``offline_video`` / ``mock_video_generator`` (:mod:`.video`): an H.264 slideshow
  with a slow pan and zoom over input images or cards drawn from the prompt.
* ``offline_tts`` (:mod:`.speech`): speech from text with the bundled espeak-ng.

Importing a generator module is cheap (its ``PLUGIN`` is plain data); Pillow,
PyAV and espeak-ng load when a generator first runs.
"""
