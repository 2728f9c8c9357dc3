// The adapter conformance suite on the telegram adapter.
import { createTelegramDriver } from './drivers/telegram.ts';
import { describeConformance } from './suite.ts';

describeConformance('telegram', createTelegramDriver);
