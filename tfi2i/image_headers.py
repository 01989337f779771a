"""Reading an encoded image's size from its file header, in the graph, before decoding
(the bytes signatures of tfi2i.export).

Each element of a bytes signature is read in the graph (tf.strings.substr and
tf.io.decode_raw of a few bytes at a time) as far as its decoder reads before allocating
the image, so that the size limits apply before anything large exists. Each reader gives
int64 [HEADER_COLUMNS]: status, format, width, height, the pixels of a GIF's first frame
(giflib holds them as well as the output) and the number of bytes to decode (-1: all);
STATUS, FORMAT, WIDTH, HEIGHT, FRAME_PIXELS and KEEP index them.

What is read of each format (PNG, JPEG, GIF, BMP) is described in tfi2i.export's
docstring.

checked_files gives the headers of a batch, int64 [batch, HEADER_COLUMNS], after the checks
that come before decoding (the limits and messages of tfi2i.request_limits).
"""
import tensorflow as tf

from tfi2i.request_limits import ERR_BAD_HEADER
from tfi2i.request_limits import ERR_HEADER_EMPTY
from tfi2i.request_limits import ERR_HEADER_TOO_LARGE
from tfi2i.request_limits import ERR_NOT_IMAGE
from tfi2i.request_limits import ERR_TOO_MANY_BYTES
from tfi2i.request_limits import MAX_SIDE
from tfi2i.request_limits import require

FORMATS = ('PNG', 'JPEG', 'GIF', 'BMP')  # the order of _MAGIC
_MAGIC = (b'\x89PNG', b'\xff\xd8\xff', b'GIF8', b'BM')
HEADER_COLUMNS = 6
STATUS, FORMAT, WIDTH, HEIGHT, FRAME_PIXELS, KEEP = range(HEADER_COLUMNS)
_OK, _OVER_BYTES, _NOT_IMAGE, _TRUNCATED, _NO_IHDR, _JPEG_ENDS, _JPEG_NO_SOF, _JPEG_BAD_LENGTH = (
    range(8))
_HEADER_PROBLEMS = {  # status: why the size cannot be read (ERR_BAD_HEADER)
    _TRUNCATED: 'the file ends inside its header',
    _NO_IHDR: 'its first chunk is not IHDR',
    _JPEG_ENDS: 'the file ends before its SOF (frame header) marker',
    _JPEG_NO_SOF: 'no SOF (frame header) marker before the image data',
    _JPEG_BAD_LENGTH: 'a marker segment before the SOF marker has a length below 2',
}
# The JPEG and GIF readers walk chains of segments or blocks. A step looks at _WINDOW bytes
# and follows the chain through them all at once (pointer doubling: _DOUBLINGS gathers
# cover 2**_DOUBLINGS >= _WINDOW moves, each forward), so a step costs the same whatever
# the file holds and the walk of a file of n bytes takes about n / _WINDOW steps.
_WINDOW = 4096
_DOUBLINGS = 12
_SOF = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
_JPEG_STOPS = (0xD8, 0xD9, 0xDA)  # SOI, EOI, SOS: libjpeg fails without an SOF before them
_JPEG_STANDALONE = (0x01,) + tuple(range(0xD0, 0xD8))  # TEM, RST0-7: no length field
_GIF_IMAGE, _GIF_EXTENSION = 0x2C, 0x21
_GIF_SPAN = 1 << 20  # > any offset a GIF step reaches (_WINDOW + 256)


def _read(data, size, pos, n):
  """int32 [n]: the bytes pos..pos+n-1 of data (size bytes long), -1 past its end."""
  pos = tf.minimum(tf.cast(pos, tf.int64), size)
  piece = tf.strings.substr(data, pos, tf.constant(n, tf.int64))
  got = tf.cast(tf.io.decode_raw(piece, tf.uint8), tf.int32)
  return tf.concat([got, -tf.ones([n - tf.size(got)], tf.int32)], 0)


def _number(b, offsets):
  """int64: the unsigned number in the bytes b[offsets], most significant first."""
  value = tf.constant(0, tf.int64)
  for o in offsets:
    value = value * 256 + tf.cast(b[o], tf.int64)
  return value


def _isin(x, values):
  return tf.reduce_any(tf.equal(x[..., None], tf.constant(values, x.dtype)), -1)


def _row(status, fmt, width=0, height=0, frame_pixels=0, keep=-1):
  return tf.stack([tf.cast(v, tf.int64) for v in
                   (status, fmt, width, height, frame_pixels, keep)])


def _chase(table, start):
  """Where `start` ends in a jump table: table[i] is the next entry, or final when it is
  i itself or not an index (>= len(table)). Every move goes forward, so _WINDOW moves
  reach the end; 2**_DOUBLINGS of them are made by squaring the table."""
  n = table.shape[0]
  for _ in range(_DOUBLINGS):
    table = tf.where(table < n, tf.gather(table, tf.minimum(table, n - 1)), table)
  return table[start]


def _png_header(data, size):
  """libpng reads the signature and then the IHDR chunk, which must come first: width and
  height are its first two 4-byte big-endian numbers."""
  b = _read(data, size, 0, 24)
  is_ihdr = tf.reduce_all(tf.equal(b[12:16], tf.constant(list(b'IHDR'))))
  status = tf.where(tf.reduce_any(b < 0), _TRUNCATED, tf.where(is_ihdr, _OK, _NO_IHDR))
  return _row(status, 0, _number(b, [16, 17, 18, 19]), _number(b, [20, 21, 22, 23]))


def _jpeg_header(data, size):
  """The first SOF marker's height and width, found as libjpeg finds it: after SOI, each
  marker is FF, any FF fill bytes, a code; other bytes before it (and FF 00) are skipped;
  TEM and RSTn stand alone, other markers are followed by a 2-byte length that covers the
  segment; SOI, EOI or SOS before an SOF fail in libjpeg, so they fail here too."""
  offsets = tf.range(_WINDOW, dtype=tf.int64)

  def step(pos, status, width, height):
    w = _read(data, size, pos, _WINDOW + 3)
    b0, b1, b2, b3 = w[:-3], w[1:-2], w[2:-1], w[3:]
    length = tf.cast(b2 * 256 + b3, tf.int64)
    marker = (b0 == 0xFF) & (b1 > 0) & (b1 != 0xFF)
    ends = marker & _isin(b1, _SOF + _JPEG_STOPS)
    standalone = marker & _isin(b1, _JPEG_STANDALONE)
    segment = marker & ~ends & ~standalone
    final = ((b0 < 0) | ((b0 == 0xFF) & (b1 < 0)) | ends
             | (segment & ((b2 < 0) | (b3 < 0) | (length < 2))))
    table = tf.where(final, offsets, tf.where(
        segment, offsets + 2 + length, tf.where(standalone, offsets + 2, offsets + 1)))
    end = _chase(table, 0)
    inside = end < _WINDOW
    at = tf.minimum(end, _WINDOW - 1)
    sof = _read(data, size, pos + at, 9)  # FF Cn, length, precision, height, width
    is_sof = (sof[0] == 0xFF) & _isin(sof[1], _SOF)
    stop = (sof[0] == 0xFF) & _isin(sof[1], _JPEG_STOPS)
    short = tf.reduce_any(sof[:4] < 0) | (is_sof & tf.reduce_any(sof < 0))
    found = tf.where(short, _JPEG_ENDS, tf.where(
        is_sof, _OK, tf.where(stop, _JPEG_NO_SOF, _JPEG_BAD_LENGTH)))
    return (tf.where(inside, pos, pos + end), tf.where(inside, found, -1),
            _number(sof, [7, 8]), _number(sof, [5, 6]))

  start = (tf.constant(2, tf.int64), tf.constant(-1), tf.constant(0, tf.int64),
           tf.constant(0, tf.int64))
  _, status, width, height = tf.while_loop(
      lambda pos, status, *_: status < 0, step, start,
      maximum_iterations=tf.cast(size // _WINDOW + 2, tf.int32))
  return _row(tf.where(status < 0, _JPEG_ENDS, status), 1, width, height)


def _gif_color_table(flags):
  return tf.where(flags & 0x80 > 0, 3 * tf.bitwise.left_shift(2, flags & 7), 0)


def _gif_header(data, size):
  """The logical screen (what TF's decoder outputs) and the first frame's descriptor
  (giflib holds every frame it reads). The walk follows giflib's records: extensions (21,
  label, sub-blocks) until the first image descriptor (2C, 9 bytes, a local colour table,
  the LZW code size, sub-blocks); it stops at anything else, where giflib stops too. Only
  the bytes up to the end of the first frame are decoded (with a trailer appended), so
  later frames, which TF would read and drop, cost nothing."""
  head = _read(data, size, 0, 13)
  offsets = tf.range(_WINDOW, dtype=tf.int64)
  size_w = tf.constant(_WINDOW, tf.int64)

  def node(mode, offset):  # table index within the window; beyond it, a final value
    return tf.where(offset < _WINDOW, mode * size_w + offset,
                    3 * size_w + mode * _GIF_SPAN + offset)

  def step(pos, mode, status, frame_w, frame_h, keep):
    w = _read(data, size, pos, _WINDOW)
    length = tf.cast(w, tf.int64)
    # mode 0: a record; 1: an extension's sub-blocks; 2: the first frame's sub-blocks.
    record = tf.where(w == _GIF_EXTENSION, node(1, offsets + 2), offsets)
    extension = tf.where(w == 0, node(0, offsets + 1), tf.where(
        w > 0, node(1, offsets + 1 + length), size_w + offsets))
    frame = tf.where(w > 0, node(2, offsets + 1 + length), 2 * size_w + offsets)
    end = _chase(tf.concat([record, extension, frame], 0), mode * size_w)
    beyond = end >= 3 * size_w
    end_mode, at = end // size_w, tf.minimum(end % size_w, _WINDOW - 1)
    byte = w[at]
    desc = _read(data, size, pos + at, 10)  # 2C, left, top, width, height, flags
    image = ~beyond & (end_mode == 0) & (byte == _GIF_IMAGE) & tf.reduce_all(desc >= 0)
    frame_end = ~beyond & (end_mode == 2) & (byte == 0)
    past = end - 3 * size_w
    next_pos = tf.where(beyond, pos + past % _GIF_SPAN, tf.where(
        image, pos + at + 11 + tf.cast(_gif_color_table(desc[9]), tf.int64), pos))
    return (next_pos, tf.where(beyond, past // _GIF_SPAN, tf.constant(2, tf.int64)),
            tf.where(beyond | image, -1, _OK),
            tf.where(image, _number(desc, [6, 5]), frame_w),
            tf.where(image, _number(desc, [8, 7]), frame_h),
            tf.where(frame_end, pos + at + 1, keep))

  zero = tf.constant(0, tf.int64)
  start = (13 + tf.cast(_gif_color_table(head[10]), tf.int64), zero,
           tf.where(tf.reduce_any(head < 0), _TRUNCATED, -1), zero, zero,
           tf.constant(-1, tf.int64))
  _, _, status, frame_w, frame_h, keep = tf.while_loop(
      lambda pos, mode, status, *_: status < 0, step, start,
      maximum_iterations=tf.cast(size // _WINDOW + 4, tf.int32))
  screen_w, screen_h = _number(head, [7, 6]), _number(head, [9, 8])
  return _row(tf.where(status < 0, _OK, status), 2, tf.maximum(screen_w, frame_w),
              tf.maximum(screen_h, frame_h), frame_w * frame_h, keep)


def _bmp_header(data, size):
  """TF's BMP decoder reads width and height as signed 4-byte little-endian numbers at 18
  and 22; a negative height is a top-down image of that many rows."""
  b = _read(data, size, 0, 26)

  def signed(offsets):
    value = _number(b, offsets)
    return tf.where(value >= 2**31, value - 2**32, value)

  return _row(tf.where(tf.reduce_any(b < 0), _TRUNCATED, _OK), 3, signed([21, 20, 19, 18]),
              tf.abs(signed([25, 24, 23, 22])))


def _file_header(data, max_bytes):
  """int64 [HEADER_COLUMNS] of one encoded image (see above); nothing is read of an
  element over max_bytes."""
  size = tf.strings.length(data, unit='BYTE', name='encoded_size')
  size = tf.cast(size, tf.int64)

  def read():
    matches = tf.stack([tf.equal(tf.strings.substr(data, 0, len(m)), m) for m in _MAGIC])
    fmt = tf.where(tf.reduce_any(matches), tf.argmax(tf.cast(matches, tf.int32),
                                                     output_type=tf.int32), len(_MAGIC))
    readers = [_png_header, _jpeg_header, _gif_header, _bmp_header]
    return tf.switch_case(fmt, [lambda r=r: r(data, size) for r in readers]
                          + [lambda: _row(_NOT_IMAGE, -1)])

  return tf.cond(size > max_bytes, lambda: _row(_OVER_BYTES, -1), read)


def checked_files(images, limits):
  """The headers (int64 [batch, HEADER_COLUMNS]) of a batch of encoded images, after the
  checks that come before decoding, in this order of precedence: ERR_TOO_MANY_BYTES,
  ERR_NOT_IMAGE, ERR_BAD_HEADER, ERR_HEADER_EMPTY or ERR_HEADER_TOO_LARGE; the message
  names the first element at fault."""
  headers = tf.map_fn(lambda data: _file_header(data, limits.max_encoded_bytes), images,
                      fn_output_signature=tf.TensorSpec([HEADER_COLUMNS], tf.int64))
  status, width, height = headers[:, STATUS], headers[:, WIDTH], headers[:, HEIGHT]
  names = tf.constant(FORMATS + ('file',))
  problems = tf.constant([_HEADER_PROBLEMS.get(s, '') for s in range(_JPEG_BAD_LENGTH + 1)])
  element = tf.strings.as_string(tf.range(tf.size(status)))
  fmt = tf.gather(names, tf.minimum(tf.math.floormod(headers[:, FORMAT], len(FORMATS) + 1),
                                    len(FORMATS)))  # -1: 'file'
  sizes = tf.strings.as_string(tf.strings.length(images, unit='BYTE'))
  small, large = tf.minimum(width, height) < 1, tf.maximum(width, height) > MAX_SIDE
  checks = [  # (bad [batch], the message's parts: text, or a value per element)
      (status == _OVER_BYTES, [f'{ERR_TOO_MANY_BYTES} ({limits.max_encoded_bytes} bytes): '
                               'element ', element, ' is ', sizes, ' bytes']),
      (status == _NOT_IMAGE, [f'{ERR_NOT_IMAGE}: element ', element]),
      (status >= _TRUNCATED, [f'{ERR_BAD_HEADER}: element ', element, ' (', fmt, '): ',
                              tf.gather(problems, tf.minimum(status, _JPEG_BAD_LENGTH))]),
      ((status == _OK) & (small | large),
       [tf.where(small, ERR_HEADER_EMPTY, ERR_HEADER_TOO_LARGE), ': element ', element,
        ' is a ', fmt, ' whose header says ', tf.strings.as_string(width), 'x',
        tf.strings.as_string(height), ' (width x height)']),
  ]
  ok, message = tf.constant(True), tf.constant('')
  for bad, parts in reversed(checks):
    i = tf.argmax(tf.cast(bad, tf.int32))  # the first element at fault
    text = tf.strings.join([p if isinstance(p, str) else p[i] for p in parts])
    ok = tf.logical_and(ok, tf.logical_not(tf.reduce_any(bad)))
    message = tf.where(tf.reduce_any(bad), text, message)
  return require(ok, message, headers)
