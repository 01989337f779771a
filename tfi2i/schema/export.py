"""The recipe's `export` section: the SavedModel a finished run writes to WORKDIR/export/
(tfi2i.export; `python -m tfi2i.export` exports any checkpoint with its own flags)."""
from tfi2i.schema import Key
from tfi2i.schema import Section
from tfi2i.workdir import PRECISIONS

EXPORT = Section('export', {
    'at_end': Key(True, 'export when the run reaches its last step (was train.export_at_end)'),
    'mode': Key('', "an inference mode of the model for that export ('' = its default; "
                "pix2pix 'eval': the official test.py --eval)"),
    'precision': Key('float32', "the exported graph's dtype policy ('mixed_bfloat16': "
                     'faster inference on CPUs with AVX512-BF16 or AMX; \'auto\': that where '
                     'the machine has bfloat16 hardware, else float32)', choices=PRECISIONS),
})
