import { post } from "./post.js";

// Never rejects: post() turns every error into a failed step.
void post();
