"""One keras.Model subclass per paper family; `build_model` maps a recipe to one."""
from tfi2i.models.base import ImagePool, TranslationModel
from tfi2i.models.cyclegan import CycleGAN

MODELS = {'cyclegan': CycleGAN}


def build_model(config):
  """The model named by config.model.name, built from the recipe's model and loss sections."""
  name = config.model.name
  if name not in MODELS:
    raise ValueError(f'unknown model {name!r} in recipe model.name; known: {sorted(MODELS)}')
  return MODELS[name](model=config.model.to_dict(), loss=config.loss.to_dict(),
                      seed=config.train.seed, name=name)


__all__ = ['CycleGAN', 'ImagePool', 'MODELS', 'TranslationModel', 'build_model']
