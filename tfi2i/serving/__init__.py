"""Serving exported tfi2i models with TensorFlow Serving: config files and a client."""
