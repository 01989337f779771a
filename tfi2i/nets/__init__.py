"""Networks as plain Keras models."""
from tfi2i.nets.patchgan import patch_discriminator
from tfi2i.nets.resnet import resnet_generator

__all__ = ['patch_discriminator', 'resnet_generator']
