import { describe, expect, it } from 'vitest';
import { horizontalPosition, SIDE_TOLERANCE } from './box.ts';

describe('horizontalPosition', () => {
  it('names the third of the photo that holds the box centre', () => {
    expect(horizontalPosition({ x: 0, y: 0, width: 60, height: 60 }, 300)).toBe('left');
    expect(horizontalPosition({ x: 120, y: 0, width: 60, height: 60 }, 300)).toBe('centre');
    expect(horizontalPosition({ x: 240, y: 0, width: 60, height: 60 }, 300)).toBe('right');
  });

  it("counts a region centred on a third's edge (less rounding) as that side with the side tolerance", () => {
    // The right-hand column of a 2 x 2 grid on a 449-pixel photo: x 150, width 299, centre 0.6670 - or 0.6659 rounded down.
    const right = { x: 150, y: 0, width: 298, height: 10 };
    expect(horizontalPosition(right, 449)).toBe('centre');
    expect(horizontalPosition(right, 449, SIDE_TOLERANCE)).toBe('right');
    expect(horizontalPosition({ x: 0, y: 0, width: 300, height: 10 }, 449, SIDE_TOLERANCE)).toBe('left');
    expect(horizontalPosition({ x: 0, y: 0, width: 449, height: 10 }, 449, SIDE_TOLERANCE)).toBe('centre');
  });
});
