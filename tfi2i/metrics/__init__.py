"""Evaluation metrics: diversity, fidelity to the ground truth, realism (FID/KID); attribute
accuracy of edits by a classifier file (attribute_accuracy).

No weights are downloaded: the default feature extractor is a fixed, seeded random conv
net (`random_conv_features`); pretrained Keras networks need a local weights file.
"""
from tfi2i.metrics.diversity import diversity_scores
from tfi2i.metrics.diversity import pairwise_feature_distance
from tfi2i.metrics.diversity import pairwise_l1
from tfi2i.metrics.features import FeatureExtractor
from tfi2i.metrics.features import keras_application_features
from tfi2i.metrics.features import keras_model_features
from tfi2i.metrics.features import layer_distance
from tfi2i.metrics.features import random_conv_features
from tfi2i.metrics.fidelity import fidelity_scores
from tfi2i.metrics.fidelity import l1
from tfi2i.metrics.fidelity import masked_psnr
from tfi2i.metrics.fidelity import psnr
from tfi2i.metrics.fidelity import ssim
from tfi2i.metrics.realism import frechet_distance
from tfi2i.metrics.realism import frechet_distance_from_stats
from tfi2i.metrics.realism import kernel_inception_distance
from tfi2i.metrics.realism import realism_scores

__all__ = [
    'FeatureExtractor', 'diversity_scores', 'fidelity_scores', 'frechet_distance',
    'frechet_distance_from_stats', 'keras_application_features', 'keras_model_features',
    'kernel_inception_distance', 'l1', 'layer_distance', 'masked_psnr',
    'pairwise_feature_distance', 'pairwise_l1', 'psnr', 'random_conv_features',
    'realism_scores', 'ssim',
]
