import { describe, expect, it } from 'vitest';
import {
  APOLOGY,
  ConfigError,
  InternalError,
  messageFor,
  ModelMissingError,
  OPERATOR_NOTICE,
  OperatorError,
  UserError,
  whoMustAct,
} from './errors.ts';

describe('the error family', () => {
  it('says who must act', () => {
    expect(whoMustAct(new UserError('That photo is empty.'))).toBe('user');
    expect(whoMustAct(new OperatorError('cannot read /models'))).toBe('operator');
    expect(whoMustAct(new ConfigError('MYVLM_THREADS', 'must be a whole number'))).toBe('operator');
    expect(whoMustAct(new ModelMissingError('yunet', ['face.onnx'], 'Run npx myvlm models fetch yunet.'))).toBe(
      'operator',
    );
    expect(whoMustAct(new InternalError('two concept rows'))).toBe('developer');
    expect(whoMustAct(new RangeError('offset'))).toBe('developer');
    expect(whoMustAct('a string')).toBe('developer');
  });

  it('shows a user error as it is, everywhere', () => {
    const error = new UserError('I need a photo.');
    expect(messageFor(error, 'chat')).toBe('I need a photo.');
    expect(messageFor(error, 'operator')).toBe('I need a photo.');
  });

  it('gives the operator the problem and its hint, and a chat only a notice', () => {
    const error = new ModelMissingError('yunet', ['face.onnx'], 'Run npx myvlm models fetch yunet.');
    expect(messageFor(error, 'operator')).toBe(
      'Model "yunet" is missing 1 file(s): face.onnx. Run npx myvlm models fetch yunet.',
    );
    expect(messageFor(error, 'chat')).toBe(OPERATOR_NOTICE);
    expect(messageFor(new ConfigError('MYVLM_THREADS', 'must be a whole number'), 'operator')).toMatch(
      /^MYVLM_THREADS: must be a whole number\. Fix it in the environment or in \.env/,
    );
  });

  it('never shows a bug to anyone but the log', () => {
    expect(messageFor(new InternalError('two concept rows'), 'chat')).toBe(APOLOGY);
    expect(messageFor(new TypeError('x is undefined'), 'operator')).toBe(APOLOGY);
  });
});
