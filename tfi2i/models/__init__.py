"""One keras.Model subclass per paper family; `build_model` maps a recipe to one."""
from tfi2i.models.base import ImagePool, TranslationModel
from tfi2i.models.bicyclegan import BicycleGAN
from tfi2i.models.cyclegan import CycleGAN
from tfi2i.models.pix2pix import Pix2Pix

MODELS = {'cyclegan': CycleGAN, 'pix2pix': Pix2Pix, 'bicyclegan': BicycleGAN}


def model_class(config):
  """The TranslationModel subclass named by the recipe's model.name."""
  name = config.model.name
  if name not in MODELS:
    raise ValueError(f'unknown model {name!r} in recipe model.name; known: {sorted(MODELS)}')
  return MODELS[name]


def build_model(config):
  """The model named by config.model.name, built from the recipe's model and loss sections."""
  name = config.model.name
  return model_class(config)(model=config.model.to_dict(), loss=config.loss.to_dict(),
                      seed=config.train.seed, name=name)


__all__ = ['BicycleGAN', 'CycleGAN', 'Pix2Pix', 'ImagePool', 'MODELS', 'TranslationModel', 'build_model', 'model_class']
