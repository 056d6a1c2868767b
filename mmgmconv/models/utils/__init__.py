from .conv_cfg import check_conv_cfg
from .deploy import GMConvDeployMixin, deploy_conv_cfg
from .fold_on_load import fold_gmconv_checkpoint
from .gmconv_layout import log_gmconv_layout
from .gmconv_resnet_mixin import GMConvResNetMixin

__all__ = [
    'check_conv_cfg', 'GMConvDeployMixin', 'deploy_conv_cfg',
    'fold_gmconv_checkpoint', 'GMConvResNetMixin', 'log_gmconv_layout'
]
