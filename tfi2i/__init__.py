"""tfi2i: image-to-image translation models in TensorFlow/Keras."""
__version__ = "0.1.0"
