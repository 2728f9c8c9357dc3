// The adapter conformance suite on the terminal adapter.
import { createTerminalDriver } from './drivers/terminal.ts';
import { describeConformance } from './suite.ts';

describeConformance('terminal', createTerminalDriver);
