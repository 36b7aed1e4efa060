import { run } from "./main.js";

// Never rejects: run() turns every error into a failed step.
void run();
