"""Networks as plain Keras models."""
from tfi2i.nets.attgan import attgan_discriminator
from tfi2i.nets.attgan import attgan_generator
from tfi2i.nets.attgan import stgan_generator
from tfi2i.nets.attribute import AttributeDiscriminator
from tfi2i.nets.attribute import stargan_discriminator
from tfi2i.nets.attribute import stargan_generator
from tfi2i.nets.bicycle import bicycle_discriminator
from tfi2i.nets.bicycle import bicycle_encoder
from tfi2i.nets.bicycle import bicycle_generator
from tfi2i.nets.bicycle import conv_encoder
from tfi2i.nets.bicycle import multiscale_discriminator
from tfi2i.nets.bicycle import resnet_encoder
from tfi2i.nets.bicycle import unet_add_all_generator
from tfi2i.nets.bicycle import unet_add_input_generator
from tfi2i.nets.patchgan import patch_discriminator
from tfi2i.nets.resnet import resnet_generator
from tfi2i.nets.ugatit import ugatit_discriminator
from tfi2i.nets.ugatit import ugatit_generator
from tfi2i.nets.unet import unet_generator

__all__ = [
    'AttributeDiscriminator', 'attgan_discriminator', 'attgan_generator', 'stgan_generator',
    'stargan_discriminator', 'stargan_generator',
    'bicycle_discriminator', 'bicycle_encoder', 'bicycle_generator', 'conv_encoder',
    'multiscale_discriminator', 'patch_discriminator', 'resnet_encoder', 'resnet_generator',
    'ugatit_discriminator', 'ugatit_generator', 'unet_add_all_generator',
    'unet_add_input_generator', 'unet_generator',
]
