/**
 * What the page accepts as an image, in one place: the file picker reads the
 * types, the image worker enforces the sizes before and after decoding.
 */

export const ACCEPTED_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp']

export const MAX_BYTES = 20 * 1024 * 1024
export const MAX_PIXELS = 50_000_000
/** longest side read back from a decoded image; a digit or a 32x32 photo needs far fewer pixels */
export const WORK_SIDE = 512
