// The adapter conformance suite on the web app, through real HTTP requests.
import { createWebDriver } from './drivers/web.ts';
import { describeConformance } from './suite.ts';

describeConformance('web', createWebDriver);
