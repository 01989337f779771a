"""BicycleGAN (the cVAE-GAN + cLR-GAN hybrid) at the official defaults.

Source of each default: junyanz/BicycleGAN options/base_options.py (B),
options/train_options.py (T), scripts/train_*.sh (S), models/bicycle_gan_model.py (M).
The other members of the family are switches of the same train_step:
recipes/cvae_gan.py, recipes/clr_gan.py, recipes/pix2pix_noise.py.

  python -m tfi2i.train --recipe=recipes/bicyclegan.py --recipe.data.root=DIR --workdir=DIR
"""
import ml_collections

from recipes import common


def get_config(variant: str = 'bicycle') -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model = m = ml_collections.ConfigDict()
  m.name = 'bicyclegan'
  # bicycle | cvae_gan | clr_gan | pix2pix_noise (which terms and networks train)
  m.variant = variant
  m.input_nc = 3  # B --input_nc (S: 1 for edges2shoes)
  m.output_nc = 3  # B --output_nc
  m.nz = 8  # B --nz
  m.net_g = 'unet_256'  # B --netG ('unet_128' for 128 px)
  m.where_add = 'all'  # B --where_add: z joins the input of every U-Net level ('input': first only)
  m.upsample = 'basic'  # B --upsample: transposed convolutions
  m.ngf = 64  # B --ngf
  m.net_e = 'resnet_256'  # B --netE (resnet_128, conv_256, conv_128)
  m.nef = 64  # B --nef
  m.net_d = 'basic_256_multi'  # B --netD: multi-scale PatchGAN for the encoded-z path
  m.net_d2 = 'basic_256_multi'  # B --netD2: for the random-z path
  m.num_ds = 2  # B --num_Ds: scales per discriminator
  m.ndf = 64  # B --ndf
  m.norm = 'instance'  # B --norm
  m.nl = 'relu'  # B --nl (generator up path)
  m.use_dropout = True  # S: every official training script passes --use_dropout
  m.init_type = 'xavier'  # B --init_type
  m.init_gain = 0.02  # B --init_gain

  c.loss = l = ml_collections.ConfigDict()
  l.gan_mode = 'lsgan'  # B --gan_mode
  l.lambda_l1 = 10.0  # T --lambda_L1: |B - G(A, E(B))|
  l.lambda_gan = 1.0  # T --lambda_GAN: D(G(A, E(B)))
  l.lambda_gan2 = 1.0  # T --lambda_GAN2: D2(G(A, z))
  l.lambda_z = 0.5  # T --lambda_z: |E(G(A, z)) - z|
  l.lambda_kl = 0.01  # T --lambda_kl

  c.optimizer = o = ml_collections.ConfigDict()
  o.lr = 2e-4  # T --lr
  o.beta1 = 0.5  # T --beta1
  o.beta2 = 0.999  # M Adam betas=(beta1, 0.999)

  c.schedule = common.schedule_config(n_epochs=100, n_epochs_decay=100)  # T --niter(_decay)
  c.data = common.data_config()  # B --load_size 286, --crop_size 256, flip unless --no_flip
  c.train = common.train_config()
  c.train.batch_size = 2  # B --batch_size: one half encoded, one half random z
  return c
