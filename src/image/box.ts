// A rectangle on a photo, in its pixels: a face the detector found, the
// region a reply points at, the crop the VLM is shown.

/** Left, top, width and height in pixels of the photo. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
