/**
 * What pipeline.ts does to a picture, in words with every number, for the public client
 * description (`client.normalisation.steps`): a client in any language can reproduce the
 * model's framing without reading this code. Built from the same constants the code uses.
 */
import { DEFAULT_FRAME, type FrameSpec, type InputSpec } from '../model/manifest'
import { MIN_CONTRAST } from './ink'
import { PAPER_MIN_TOLERANCE, PAPER_OUTLIER_SIGMAS, PAPER_ROUNDS } from './paper-light'
import { BBOX_THRESHOLD, FRAME_SCALE_SLACK } from './mnist-frame'
import {
  RULING_MAX_THICKNESS,
  RULING_MAX_THICKNESS_SHARE,
  RULING_MAX_TILT,
  RULING_MIN_COVERAGE,
  RULING_MIN_FRAGMENT,
  RULING_MIN_INK,
  RULING_MIN_SIDE,
  RULING_MIN_VOTES,
  RULING_STROKE_INK,
  RULING_TILT_STEP,
} from './ruled-lines'
import {
  GARMENT_SHEET_MAX_MARKS,
  SHEET_EDGE_TOLERANCE,
  SHEET_MAX_MARKS,
  SHEET_MIN_AREA,
  SHEET_MIN_MARKS,
  SHEET_MIN_PAPER_EDGE,
  SHEET_MIN_RECTANGULARITY,
  SHEET_MIN_SIDE,
  SHEET_MIN_STEP,
  SHEET_RIM,
  SURFACE_MIN_BORDER,
} from './sheet'
import { RANGE_SHARE, TAIL_PERCENT, TRAINING_TONES } from './exposure'
import { TRIM } from './fashion-frame'
import { STRAIGHTEN_MIN_DEGREES } from './straighten'
import { MIN_CROP } from './photo-frame'
import { NEW_BAR, PLAIN_TOLERANCE } from './plain-margins'

const GREY = 'grey = 0.299 R + 0.587 G + 0.114 B'
const OVER_WHITE = 'Composite over white: each colour c at opacity a (alpha/255) becomes round(255 - (255 - c) * a).'
const RESAMPLE =
  'resampling, on 8-bit values as stored: bilinear when neither side shrinks (samples at ((x + 0.5) * srcWidth / width - 0.5, likewise y), edge pixels repeated), ' +
  'otherwise area averaging (each output pixel the mean of its exact footprint, partly covered source pixels weighted by the part covered); results rounded to integers'
const FIT = (fit: number) =>
  `Scale the crop so its longest side is ${fit} px, keeping the aspect ratio: s = ${fit} / longest, width' = max(1, round(width * s)), likewise height; ${RESAMPLE}.`

const { black: B, white: W } = TRAINING_TONES
const EXPOSURE =
  `Exposure, on the resized R, G, B values: l = round(${GREY}) per pixel; of the n values of l, black = the smallest v with more than ${TAIL_PERCENT / 100} * n values <= v, white likewise with ${1 - TAIL_PERCENT / 100} * n. ` +
  `Levels lo = 0 -> to_lo = 0 and hi = 255 -> to_hi = 255, except: if 0 < white < ${W.lo}, hi = white -> to_hi = ${W.typical}; if 255 > black > ${B.hi}, lo = black -> to_lo = ${B.typical} ` +
  `(the bounds: where the middle ${RANGE_SHARE * 100}% of the CIFAR-10 training pictures lie; the targets: their medians). ` +
  `If neither applies, or white - black < ${MIN_CONTRAST}, the values stay exactly as they are; otherwise each value v becomes round(clamp(to_lo + (v - lo) * (to_hi - to_lo) / (hi - lo), 0, 255)).`

const PAPER_LIGHT =
  `Paper P at each pixel (x, y), the border's lighting: with u = 2x / (W - 1) - 1, v = 2y / (H - 1) - 1, fit p = c0 + c1 u + c2 v + c3 u^2 + c4 u v + c5 v^2 to the border samples by least squares, ` +
  `starting from p = typical; ${PAPER_ROUNDS} rounds of: residual r = grey - p per sample, keep the samples with |r - median(r)| <= max(${PAPER_MIN_TOLERANCE}, ${PAPER_OUTLIER_SIGMAS} * 1.4826 * median(|r - median(r)|)) (at least 12, else stop), refit on them. ` +
  'P = p clamped to the smallest and largest grey among the samples kept. With W or H below 3, or fewer than 12 samples, P = typical everywhere.'

const CHEB = (r: number) => `within ${r} px (Chebyshev distance, pixels inside the picture)`
const SHEET = (maxMarks: number) =>
  `Sheet on a desk (when no pixel has alpha < 128 and W, H >= ${SHEET_MIN_SIDE}): t = Otsu's threshold of the grey values (${GREY}) rounded to integers (the first k in 0..254 maximising n0 n1 (m0 - m1)^2, class 0 the values <= k); a pixel is light when grey > t. ` +
  `R = the largest 4-connected region of light pixels (among equals the first reached in row-major order); F = R with its holes filled (the pixels not 4-connected to the picture's edge through pixels outside R). ` +
  `S = the pixels of F with no pixel outside F ${CHEB(SHEET_RIM)}; its edge E = the pixels of S with a pixel outside S ${CHEB(1)}. ` +
  `F is a sheet when all of: at least ${SURFACE_MIN_BORDER * 100}% of the border pixels are not light; |F| >= ${SHEET_MIN_AREA} W H; the pixels of F that are not light number ${SHEET_MIN_MARKS} |F| to ${maxMarks} |F|; ` +
  `the median grey of the light pixels of F that have a pixel outside F ${CHEB(SHEET_RIM)}, minus the upper quartile (index floor(3 count / 4) once sorted) of the greys of the pixels outside F that have one of F ${CHEB(SHEET_RIM)}, is >= ${SHEET_MIN_STEP}; ` +
  `|F| >= ${SHEET_MIN_RECTANGULARITY} times the smallest area among the rectangles aligned with each edge of the convex hull of F's pixel squares (the sheet's turn a = the angle atan2(dy, dx) of the first edge giving that area, turned by whole quarter turns into (-45, 45] degrees; x right, y down); E is not empty; ` +
  `and with P the paper fitted to E as the border samples (the paper step below), |grey - P| <= ${SHEET_EDGE_TOLERANCE} at ${SHEET_MIN_PAPER_EDGE} |E| or more of E's pixels. ` +
  'Then every pixel outside S counts as paper (as a transparent one does), the border pixels below (for typical and P) are the pixels of E, and the paper is light whatever typical is.'

const STRAIGHTEN =
  `Upright: on a sheet with |a| >= ${STRAIGHTEN_MIN_DEGREES} degree, with (cx, cy) the mean of the pixel centres (x + 0.5, y + 0.5) of S, each ink pixel (x, y) becomes the bilinear sample of the ink at ` +
  '(cx + dx cos a - dy sin a - 0.5, cy + dx sin a + dy cos a - 0.5), dx = x + 0.5 - cx, dy = y + 0.5 - cy (pixels outside the picture are 0), rounded.'

const RULING =
  `Ruling (light paper or a sheet, W, H >= ${RULING_MIN_SIDE}), on the stretched ink, for rows (lines y = c + x tan a, p = x along them, q = y across) and columns (x = c + y tan a, p = y, q = x) alike; on a sheet, a pixel outside S counts as outside the picture: ` +
  `T = max(${RULING_MAX_THICKNESS}, round(${RULING_MAX_THICKNESS_SHARE} * the picture's side across the lines)); a mark is ink >= ${RULING_MIN_INK}, a thin mark one with no mark T + 1 px before or after it across the lines. ` +
  `Each thin mark votes for offset c = round(q - p tan a); the tilt a is the first among 0, -${RULING_TILT_STEP}, +${RULING_TILT_STEP}, -${2 * RULING_TILT_STEP}, ... +${RULING_MAX_TILT} degrees with the largest sum of squared votes per offset. ` +
  `For a least view m, a line is a run of consecutive offsets, at most T + 2 long, each c of which has n >= m positions with round(c + p tan a) in the picture and at least ${RULING_MIN_VOTES} n votes on c - 1, c and c + 1, ` +
  `and that carries a mark on one of its offsets at a share s of the n' >= m positions where its middle offset rounds into the picture. ` +
  `The page is ruled when the rows or the columns have at least two lines with m = half the largest n of any offset at that tilt and s = ${RULING_MIN_COVERAGE}. ` +
  `Then every line with m = ${RULING_MIN_FRAGMENT} and s = ${RULING_MIN_VOTES}, rows first, then columns, is cleared: its offsets from first - 1 to last + 1 are set to 0 at each position p where the pixels at offsets first - 2 and last + 2 are both < ${RULING_STROKE_INK} or outside the picture.`

function inkSteps(transparentIsInk: boolean): string[] {
  return [
    transparentIsInk
      ? 'If more than half of the border pixels (first and last row and column) have alpha < 128, ink = alpha * 255 / (largest alpha), rounded, and colour is ignored; contrast = largest alpha. Otherwise:'
      : OVER_WHITE,
    SHEET(transparentIsInk ? SHEET_MAX_MARKS : GARMENT_SHEET_MAX_MARKS),
    `Grey: ${GREY}${transparentIsInk ? ' (a pixel with alpha < 128 counts as paper)' : ''}; typical = the median grey of the border pixels${transparentIsInk ? ' with alpha >= 128 (0 if none)' : ''}: the value at index floor(count / 2) once sorted.`,
    PAPER_LIGHT,
    `Ink: on light paper (typical >= 128, or a sheet) ink = (P - grey) * typical / max(1, P), on dark paper ink = grey - P, negative values 0; contrast = the largest ink; then ink = min(255, round(ink * 255 / contrast)).`,
    `Blank: when contrast < ${MIN_CONTRAST}, send nothing.`,
    ...(transparentIsInk ? [RULING] : []),
    STRAIGHTEN,
  ]
}

/** The picture already in the frame (a data set's own image saved as a file) is only moved. */
const AT_FRAME_SCALE = (fit: number, width: number, height: number, kept: string) =>
  `If the picture is at most ${width} x ${height} px and the box's longest side is ${fit - FRAME_SCALE_SLACK} to ${fit} px, it is already in the frame: ` +
  `all of it (faint pixels outside the box too) goes to the placing step as it is, ${kept}. Otherwise:`

function frameSteps(frame: FrameSpec, width: number, height: number): string[] {
  if (frame.centre === 'mass') {
    return [
      `Bounding box of the pixels with ink >= ${BBOX_THRESHOLD} (none: blank).`,
      AT_FRAME_SCALE(frame.fit, width, height, 'not cropped or scaled'),
      'Crop to the box.',
      FIT(frame.fit),
      `Place it in a zeroed ${width} x ${height} frame so that its centre of mass (sum of ink * x / sum of ink, likewise y, pixel indices from 0) lands on (${width} / 2, ${height} / 2), where MNIST's digits have theirs: offset x = round(${width} / 2 - cx), likewise y; what falls outside is clipped.`,
    ]
  }
  return [
    `Bounding box of the pixels with ink >= ${TRIM} * 255 * 255 / max(1, contrast), that is ${TRIM * 100}% of the contrast before stretching, ` +
      `leaving out specks: 8-connected groups of such pixels numbering fewer than max(1, floor(L^2 / (4 * ${frame.fit}^2))), L the picture's longest side (none left: blank).`,
    AT_FRAME_SCALE(frame.fit, width, height, 'not cropped, scaled or sharpened'),
    'Crop to the box.',
    FIT(frame.fit),
    'Sharpen (after scaling, on the ink): a 3x3 kernel of weights -exp(-(u^2 + v^2) / 2) for u, v in -1..1 with the centre weight replaced by -2 times the sum of all nine, then all divided by their sum (ImageMagick -sharpen 1x1); edge pixels repeated; rounded and clamped to 0..255.',
    `Place it in a zeroed ${width} x ${height} frame so that the box, width' x height' (after scaling), starts at x = ceil((${width} - width') / 2), y = ceil((${height} - height') / 2): the bounding box centred, an odd spare pixel left and top; what falls outside is clipped.`,
  ]
}

/** The steps from an RGBA picture to the model's 8-bit input (height x width x channels, HWC), in order. */
export function preprocessSteps(input: Pick<InputSpec, 'preprocess' | 'frame' | 'height' | 'width' | 'channels'>): string[] {
  const { width, height, channels } = input
  if (input.preprocess === 'photo') {
    return [
      OVER_WHITE,
      `Largest centred region of aspect ${width}:${height}: w = max(1, min(W, round(H * ${width} / ${height}))), h = max(1, min(H, round(W * ${height} / ${width}))), from x0 = floor((W - w) / 2), y0 = floor((H - h) / 2).`,
      `Plain margins: a row or column is plain when each channel of each of its pixels (within the box left so far) is within ${PLAIN_TOLERANCE} of that channel's median over the outermost line on its side (the value at index floor(count / 2) once sorted). ` +
        `Peel the top, bottom, left and right sides in turn, each inwards past its plain lines (at least one line is kept), and repeat the round while a side moves; a side peels again only when its new median differs from the colour it last peeled by more than ${NEW_BAR} in some channel.`,
      `Crop: if the box left is a single line, the largest centred region. Otherwise with box width bw, height bh, the crop height c = min(h, max(${MIN_CROP} * h, ${height}, bh, bw * ${height} / ${width})); ` +
        `if c >= h, the largest centred region; else cw = max(1, round(c * ${width} / ${height})), ch = max(1, round(c)), from x0 = min(W - cw, max(0, round((bx0 + bx1 - cw) / 2))), likewise y0 (bx1, by1 exclusive).`,
      `Resize to ${width} x ${height}: ${RESAMPLE}.`,
      EXPOSURE,
      channels === 1 ? `One channel: round(${GREY}).` : 'Keep R, G, B.',
    ]
  }
  const f = input.frame ?? DEFAULT_FRAME
  const steps = [...inkSteps(f.centre === 'mass'), ...frameSteps(f, width, height)]
  if (channels === 3) steps.push('Repeat the grey value in R, G and B.')
  return steps
}
