// Gradients of element-wise operators. Binary ones broadcast, so each input's
// gradient is summed back over the axes it was stretched along.
import { InternalError } from '../../../errors.ts';
import { dataTypeOf } from '../../tensor.ts';
import { GradientError, isFloatType } from '../emitter.ts';
import type { GradContext, GradRule } from '../rule.ts';

/** 2 / sqrt(pi): the derivative of erf at 0. */
const ERF_SLOPE = 2 / Math.sqrt(Math.PI);

/** The gradient at output 0, which every rule here needs. */
function g(ctx: GradContext): string {
  const grad = ctx.grad(0);
  if (!grad) throw new InternalError(`${ctx.label}: no gradient reached its output.`);
  return grad;
}

/** Reduces a full-shape contribution to input i's shape. */
function toInput(ctx: GradContext, i: number, full: string): string {
  return ctx.emit.unbroadcast(full, ctx.input(i), ctx.output(0));
}

function unary(derivative: (ctx: GradContext, grad: string) => string): GradRule {
  return (ctx) => [ctx.wants(0) ? derivative(ctx, g(ctx)) : undefined];
}

const add: GradRule = (ctx) => [
  ctx.wants(0) ? toInput(ctx, 0, g(ctx)) : undefined,
  ctx.wants(1) ? toInput(ctx, 1, g(ctx)) : undefined,
];

const sub: GradRule = (ctx) => [
  ctx.wants(0) ? toInput(ctx, 0, g(ctx)) : undefined,
  ctx.wants(1) ? toInput(ctx, 1, ctx.emit.op('Neg', [g(ctx)])) : undefined,
];

const mul: GradRule = (ctx) => {
  const e = ctx.emit;
  return [
    ctx.wants(0) ? toInput(ctx, 0, e.op('Mul', [g(ctx), ctx.input(1)])) : undefined,
    ctx.wants(1) ? toInput(ctx, 1, e.op('Mul', [g(ctx), ctx.input(0)])) : undefined,
  ];
};

const div: GradRule = (ctx) => {
  const e = ctx.emit;
  // d(a/b)/db = -(a/b)/b, written with the output so a is not re-read.
  return [
    ctx.wants(0) ? toInput(ctx, 0, e.op('Div', [g(ctx), ctx.input(1)])) : undefined,
    ctx.wants(1)
      ? toInput(ctx, 1, e.op('Neg', [e.op('Div', [e.op('Mul', [g(ctx), ctx.output(0)]), ctx.input(1)])]))
      : undefined,
  ];
};

const pow: GradRule = (ctx) => {
  const e = ctx.emit;
  const base = ctx.input(0);
  const type = e.floatType(base);
  let exponent = ctx.input(1);
  if (e.of(exponent).type !== type) exponent = e.op('Cast', [exponent], { to: dataTypeOf(type) });
  return [
    ctx.wants(0)
      ? toInput(
          ctx,
          0,
          e.op('Mul', [
            g(ctx),
            e.op('Mul', [exponent, e.op('Pow', [base, e.op('Sub', [exponent, e.scalar(1, type)])])]),
          ]),
        )
      : undefined,
    ctx.wants(1)
      ? toInput(ctx, 1, e.op('Mul', [g(ctx), e.op('Mul', [ctx.output(0), e.op('Log', [base])])]))
      : undefined,
  ];
};

/** Max and Min send the gradient to the input that won (the first one on ties). */
function select(winsOp: 'GreaterOrEqual' | 'LessOrEqual'): GradRule {
  return (ctx) => {
    if (ctx.node.inputs.length !== 2)
      throw new GradientError(`${ctx.label}: only the two-input form can be differentiated.`);
    const e = ctx.emit;
    const zero = e.scalar(0, e.floatType(ctx.output(0)));
    const firstWins = e.op(winsOp, [ctx.input(0), ctx.input(1)]);
    return [
      ctx.wants(0) ? toInput(ctx, 0, e.op('Where', [firstWins, g(ctx), zero])) : undefined,
      ctx.wants(1) ? toInput(ctx, 1, e.op('Where', [firstWins, zero, g(ctx)])) : undefined,
    ];
  };
}

const where: GradRule = (ctx) => {
  const e = ctx.emit;
  const zero = ctx.wants(1) || ctx.wants(2) ? e.scalar(0, e.floatType(ctx.output(0))) : '';
  return [
    undefined,
    ctx.wants(1) ? toInput(ctx, 1, e.op('Where', [ctx.input(0), g(ctx), zero])) : undefined,
    ctx.wants(2) ? toInput(ctx, 2, e.op('Where', [ctx.input(0), zero, g(ctx)])) : undefined,
  ];
};

/** Sum of any number of broadcasting inputs. */
const sum: GradRule = (ctx) => ctx.node.inputs.map((_, i) => (ctx.wants(i) ? toInput(ctx, i, g(ctx)) : undefined));

const cast: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined];
  const e = ctx.emit;
  const type = e.of(ctx.input(0)).type;
  if (isFloatType(type)) return [e.castTo(g(ctx), type)];
  if (type === undefined && e.opset >= 15) return [e.op('CastLike', [g(ctx), ctx.input(0)])];
  // Dropping the gradient here would silently cut every path through this Cast.
  throw new GradientError(
    `${ctx.label}: the element type of its input "${ctx.input(0)}" is not known from the graph, ` +
      `and opset ${e.opset} has no CastLike to cast the gradient back.`,
  );
};

/** Rules of the element-wise operators, by op type. */
export const POINTWISE_RULES: Readonly<Record<string, GradRule>> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Pow: pow,
  Max: select('GreaterOrEqual'),
  Min: select('LessOrEqual'),
  Where: where,
  Sum: sum,
  Cast: cast,
  CastLike: (ctx) => [...cast(ctx), undefined],
  Identity: unary((_ctx, grad) => grad),
  Dropout: unary((_ctx, grad) => grad),
  Neg: unary((ctx, grad) => ctx.emit.op('Neg', [grad])),
  Sqrt: unary((ctx, grad) => {
    const e = ctx.emit;
    return e.op('Div', [e.op('Mul', [grad, e.scalar(0.5, e.floatType(ctx.output(0)))]), ctx.output(0)]);
  }),
  Reciprocal: unary((ctx, grad) => {
    const e = ctx.emit;
    const y = ctx.output(0);
    return e.op('Neg', [e.op('Mul', [grad, e.op('Mul', [y, y])])]);
  }),
  Exp: unary((ctx, grad) => ctx.emit.op('Mul', [grad, ctx.output(0)])),
  Log: unary((ctx, grad) => ctx.emit.op('Div', [grad, ctx.input(0)])),
  Sigmoid: unary((ctx, grad) => {
    const e = ctx.emit;
    const y = ctx.output(0);
    return e.op('Mul', [grad, e.op('Mul', [y, e.op('Sub', [e.scalar(1, e.floatType(y)), y])])]);
  }),
  Tanh: unary((ctx, grad) => {
    const e = ctx.emit;
    const y = ctx.output(0);
    return e.op('Mul', [grad, e.op('Sub', [e.scalar(1, e.floatType(y)), e.op('Mul', [y, y])])]);
  }),
  Erf: unary((ctx, grad) => {
    const e = ctx.emit;
    const x = ctx.input(0);
    const type = e.floatType(x);
    const bell = e.op('Exp', [e.op('Neg', [e.op('Mul', [x, x])])]);
    return e.op('Mul', [grad, e.op('Mul', [bell, e.scalar(ERF_SLOPE, type)])]);
  }),
  Sin: unary((ctx, grad) => ctx.emit.op('Mul', [grad, ctx.emit.op('Cos', [ctx.input(0)])])),
  Cos: unary((ctx, grad) => ctx.emit.op('Neg', [ctx.emit.op('Mul', [grad, ctx.emit.op('Sin', [ctx.input(0)])])])),
  Abs: unary((ctx, grad) => ctx.emit.op('Mul', [grad, ctx.emit.op('Sign', [ctx.input(0)])])),
  Relu: unary((ctx, grad) => {
    const e = ctx.emit;
    const zero = e.scalar(0, e.floatType(ctx.output(0)));
    return e.op('Where', [e.op('Greater', [ctx.input(0), zero]), grad, zero]);
  }),
};
